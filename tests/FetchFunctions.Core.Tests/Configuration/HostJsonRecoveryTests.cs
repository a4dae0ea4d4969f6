using System.Globalization;
using System.Text.Json;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Configuration;

/// <summary>host.json's Durable settings hold the rules docs/reliability.md derives from the Azure Storage provider's
/// source: a healthy activity keeps its message, and a job whose host died resumes within a minute of a new host
/// starting. No Functions host runs here, so these rules, not a crash test, are what checks the arithmetic.</summary>
public sealed class HostJsonRecoveryTests
{
    /// <summary>The target: a new host has the job going again within this long.</summary>
    private static readonly TimeSpan RecoveryTarget = TimeSpan.FromSeconds(60);

    // DurableTask.Core's TaskActivityDispatcher renews a running activity's message every 5 s tick once at most 30 s of
    // its lock are left, each renewal setting the message's visibility to workItemQueueVisibilityTimeout again.
    private static readonly TimeSpan RenewalTick = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RenewalLead = TimeSpan.FromSeconds(30);

    // The table partition manager's defaults, which the extension does not expose in host.json: a partition lease lapses
    // 30 s after its last renewal, and a worker looks at the partition table every 10 s.
    private static readonly TimeSpan PartitionLease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PartitionCheck = TimeSpan.FromSeconds(10);

    private static readonly JsonElement DurableTask = ReadDurableTask();

    private static JsonElement ReadDurableTask()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(DeploymentConfigurationTests.RepositoryFile("host.json")));
        return host.RootElement.GetProperty("extensions").GetProperty("durableTask").Clone();
    }

    private static TimeSpan Setting(JsonElement section, string name) =>
        TimeSpan.Parse(section.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    private static TimeSpan StorageProvider(string name) => Setting(DurableTask.GetProperty("storageProvider"), name);

    private static TimeSpan AppLease(string name) => Setting(DurableTask.GetProperty("appLeaseOptions"), name);

    private static TimeSpan FunctionTimeout()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(DeploymentConfigurationTests.RepositoryFile("host.json")));
        return Setting(host.RootElement, "functionTimeout");
    }

    /// <summary>How long after the crash a new host holds the app lease: the dead host's lease lapses, then the new host's
    /// next try takes it.</summary>
    private static TimeSpan AppLeaseTaken() => AppLease("leaseInterval") + AppLease("acquireInterval");

    [Fact]
    public void HostJson_WorkItemVisibility_RenewedWithAMarginAndWithinTheTarget()
    {
        var visibility = StorageProvider("workItemQueueVisibilityTimeout");

        // At least one tick past the renewal lead: a running activity's message is renewed with 25-30 s of its lock left,
        // not on every tick, and is never handed out twice while its activity runs.
        Assert.True(visibility >= RenewalLead + RenewalTick, $"{visibility} < {RenewalLead + RenewalTick}");
        // A dead host's activity message is visible again at most this long after the crash.
        Assert.True(visibility <= RecoveryTarget, $"{visibility} > {RecoveryTarget}");
    }

    [Fact]
    public void HostJson_ControlQueueVisibility_TheExtensionsMinimum()
    {
        var visibility = StorageProvider("controlQueueVisibilityTimeout");

        // The extension refuses to start outside 1-60 minutes; the least it allows keeps a dead host's dequeued
        // orchestration messages out of sight for one minute at most.
        Assert.InRange(visibility, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(60));
        Assert.True(visibility <= RecoveryTarget, $"{visibility} > {RecoveryTarget}");
    }

    [Fact]
    public void HostJson_AppLease_SurvivesAFailedRenewalAndIsTakenWithinTheTarget()
    {
        Assert.True(DurableTask.GetProperty("useAppLease").GetBoolean());
        var renew = AppLease("renewInterval");
        var lease = AppLease("leaseInterval");

        // Two renewals fit in a lease: one failed by a storage blip does not lose it to a healthy host.
        Assert.True(lease >= 2 * renew + RenewalTick, $"leaseInterval {lease} vs renewInterval {renew}");
        Assert.True(AppLease("acquireInterval") <= renew, "a new host tries at least as often as the holder renews");
        Assert.True(AppLeaseTaken() < RecoveryTarget, $"app lease taken {AppLeaseTaken()} after a crash");
    }

    [Fact]
    public void HostJson_RecoveryAfterACrash_WithinAMinuteOfANewHost()
    {
        Assert.True(DurableTask.GetProperty("storageProvider").GetProperty("useTablePartitionManagement").GetBoolean());
        var poll = StorageProvider("maxQueuePollingInterval");

        // The crashed host's batch runs again: the new host holds the app lease and the message is visible, then a poll.
        var batchRunsAgain = Max(AppLeaseTaken(), StorageProvider("workItemQueueVisibilityTimeout")) + poll;
        // The orchestration moves on: the partition lease lapsed and was claimed (after the app lease), then a poll.
        var orchestrationMovesOn = Max(AppLeaseTaken(), PartitionLease) + PartitionCheck + poll;

        Assert.True(batchRunsAgain <= RecoveryTarget, $"batch runs again {batchRunsAgain} after the crash");
        Assert.True(orchestrationMovesOn <= RecoveryTarget, $"orchestration moves on {orchestrationMovesOn} after the crash");
    }

    [Fact]
    public void HostJson_FunctionTimeout_OutlastsABatchWhoseMessageIsRenewed()
    {
        var functionTimeout = FunctionTimeout();
        var crawl = new CrawlOptions();

        // A batch stops fetching at its deadline and writes its results within the margin, before the host would end it:
        // the activity ends by itself, so its message is completed, not left to lapse and run again.
        Assert.True(crawl.BatchDeadline + CrawlOptions.ResultWriteMargin <= functionTimeout, $"{crawl.BatchDeadline} + margin > {functionTimeout}");
        // A batch outlives its message's lock many times over: only the renewals keep it from a second host.
        Assert.True(crawl.BatchDeadline > StorageProvider("workItemQueueVisibilityTimeout"));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
