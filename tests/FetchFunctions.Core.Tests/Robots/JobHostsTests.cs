using System.Text.Json;
using FetchFunctions.Core.Robots;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Core.Tests.Robots;

/// <summary>The job's host blobs on Azurite, robots.txt from a loopback server of the test's own.</summary>
public sealed class JobHostsTests
{
    private static async Task<(JobHosts Sut, EngineHost Host, LoopbackServer Server)> CreateSutAsync()
    {
        var server = await LoopbackServer.StartAsync();
        var host = await EngineHost.StartAsync();
        return (host.Provider.GetRequiredService<JobHosts>(), host, server);
    }

    private static string Origin(LoopbackServer server) => server.BaseUri.GetLeftPart(UriPartial.Authority);

    [Fact]
    public async Task GetAsync_LaterBatch_ObeysTheStoredRulesEvenIfRobotsTxtChanged()
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /first\n");
        var first = await sut.Open("job-a", host.DefaultPolicy, 4).GetAsync(Origin(server), CancellationToken.None);

        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /second\n");
        var later = await sut.Open("job-a", host.DefaultPolicy, 4).GetAsync(Origin(server), CancellationToken.None);
        var otherJob = await sut.Open("job-b", host.DefaultPolicy, 4).GetAsync(Origin(server), CancellationToken.None);

        Assert.Equal(2, server.Hits("/robots.txt"));
        Assert.True(first.FetchedRobotsNow);
        Assert.False(later.FetchedRobotsNow);
        Assert.NotNull(later.DisallowReason(server.Url("/first")));
        Assert.Null(later.DisallowReason(server.Url("/second")));
        Assert.NotNull(otherJob.DisallowReason(server.Url("/second")));
    }

    [Fact]
    public async Task GetAsync_AnotherBatchCreatedTheBlobFirst_ObeysTheirs()
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        server.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /mine\n");
        using var gate = new SemaphoreSlim(0);
        server.RobotsGate = gate;
        var origin = Origin(server);

        var mine = sut.Open("job-c", host.DefaultPolicy, 4).GetAsync(origin, CancellationToken.None);
        await Poll.UntilAsync(() => server.Hits("/robots.txt") == 1, "robots.txt to be requested");
        var theirs = new HostRecord(origin, RobotsOutcome.Parsed, 200, null, [new RobotsRule(false, "/theirs")], null, HostBackoff.None);
        await host.Container.GetBlobClient(JobHosts.BlobName("job-c", origin))
            .UploadAsync(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(theirs, RobotsJsonContext.Default.HostRecord)));
        gate.Release();
        var host1 = await mine;

        Assert.NotNull(host1.DisallowReason(server.Url("/theirs")));
        Assert.Null(host1.DisallowReason(server.Url("/mine")));
    }

    [Fact]
    public async Task SaveAsync_ChangedBackoff_IsWhatTheNextBatchStartsFrom()
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        var origin = Origin(server);
        var batch = sut.Open("job-d", host.DefaultPolicy, 4);
        var first = await batch.GetAsync(origin, CancellationToken.None);
        for (var i = 0; i < 4; i++)
        {
            first.Throttle.Record(429);
        }

        await batch.SaveAsync(CancellationToken.None);
        var next = await sut.Open("job-d", host.DefaultPolicy, 4).GetAsync(origin, CancellationToken.None);

        Assert.Equal(new HostBackoff(1, TimeSpan.Zero), next.Throttle.State);
        Assert.True(next.Throttle.Slowed);
        Assert.Equal(1, server.Hits("/robots.txt"));
        Assert.Equal(["127.0.0.1"], batch.SlowedHosts());
    }

    [Theory]
    [InlineData(200, nameof(RobotsOutcome.Parsed), true)]
    [InlineData(401, nameof(RobotsOutcome.Unavailable), false)]
    [InlineData(403, nameof(RobotsOutcome.Unavailable), false)]
    [InlineData(404, nameof(RobotsOutcome.Unavailable), false)]
    [InlineData(410, nameof(RobotsOutcome.Unavailable), false)]
    [InlineData(429, nameof(RobotsOutcome.Unreachable), true)]
    [InlineData(500, nameof(RobotsOutcome.Unreachable), true)]
    [InlineData(503, nameof(RobotsOutcome.Unreachable), true)]
    public async Task GetAsync_RobotsStatus_ClassifiedAsRfc9309Says(int status, string outcome, bool pageDisallowed)
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        server.Robots = new RobotsAnswer(status, "User-agent: *\nDisallow: /page\n");

        var origin = await sut.Open("job-e", host.DefaultPolicy with { MaxRetries = 0 }, 4).GetAsync(Origin(server), CancellationToken.None);

        Assert.Equal(outcome, origin.Record.Robots.ToString());
        Assert.Equal(pageDisallowed, origin.DisallowReason(server.Url("/page")) is not null);
    }

    [Fact]
    public async Task GetAsync_RobotsRedirectedToAnotherHost_ObeysTheTargetsRulesForTheFirstOrigin()
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        await using var target = await LoopbackServer.StartAsync();
        target.Robots = new RobotsAnswer(200, "User-agent: *\nDisallow: /moved\n");
        server.Robots = new RobotsAnswer(301, "", target.Url("/robots.txt").AbsoluteUri);

        var origin = await sut.Open("job-f", host.DefaultPolicy, 4).GetAsync(Origin(server), CancellationToken.None);

        Assert.Equal((1, 1), (server.Hits("/robots.txt"), target.Hits("/robots.txt")));
        Assert.Equal(Origin(server), origin.Origin);
        Assert.NotNull(origin.DisallowReason(server.Url("/moved/a")));
    }

    [Fact]
    public async Task GetAsync_RobotsBiggerThan500KiB_ParsesTheFirst500KiB()
    {
        var (sut, host, server) = await CreateSutAsync();
        await using var _ = host;
        await using var __ = server;
        var head = "User-agent: *\nDisallow: /early\n";
        server.Robots = new RobotsAnswer(200, head + new string('#', RobotsParser.MaxBytes) + "\nDisallow: /late\n");

        var origin = await sut.Open("job-g", host.DefaultPolicy with { MaxBodyBytes = 1000 }, 4).GetAsync(Origin(server), CancellationToken.None);

        Assert.Equal(RobotsOutcome.Parsed, origin.Record.Robots);
        Assert.NotNull(origin.DisallowReason(server.Url("/early")));
        Assert.Null(origin.DisallowReason(server.Url("/late")));
    }
}
