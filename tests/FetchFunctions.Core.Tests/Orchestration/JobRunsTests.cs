using FetchFunctions.Core.Orchestration;

namespace FetchFunctions.Core.Tests.Orchestration;

public sealed class JobRunsTests
{
    [Theory]
    [InlineData(PriorRun.None, true)]
    [InlineData(PriorRun.Failed, true)]
    [InlineData(PriorRun.Terminated, true)]
    [InlineData(PriorRun.Active, false)]
    [InlineData(PriorRun.Completed, false)]
    public void StartsNewRun_PriorRun_OnlyNewFailedOrCancelledIdsStart(PriorRun prior, bool starts) =>
        Assert.Equal(starts, JobRuns.StartsNewRun(prior));

    [Theory]
    [InlineData("job-1", true)]
    [InlineData("20261123-180005-dd7cf64bf46b47a5a8ddfab4bba0ae17", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("../job", false)]
    public void IsJobId_Id_AcceptsOnlyJobIds(string? id, bool valid) => Assert.Equal(valid, JobRuns.IsJobId(id));

    [Fact]
    public void IsJobId_ShardInstanceId_IsNotAJob() =>
        Assert.False(JobRuns.IsJobId(CrawlOrchestration.ShardInstanceId("job-1", 1)));
}
