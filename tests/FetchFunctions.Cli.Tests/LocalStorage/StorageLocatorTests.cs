using FetchFunctions.Cli.LocalStorage;

namespace FetchFunctions.Cli.Tests.LocalStorage;

// The fallback decision with a fake starter: no test binds the default emulator ports, which may be a developer's Azurite.
public sealed class StorageLocatorTests
{
    private static readonly int[] Defaults = [10000, 10001, 10002];

    /// <summary>Records every start; fails the ones <paramref name="failure"/> names an error for.</summary>
    private sealed class FakeStarter(Func<int, Exception?> failure)
    {
        public List<int[]> Starts { get; } = [];

        public Task<string> StartAsync(int blob, int queue, int table)
        {
            Starts.Add([blob, queue, table]);
            return failure(blob) is { } error ? Task.FromException<string>(error) : Task.FromResult($"up on {blob}");
        }
    }

    [Fact]
    public async Task DefaultsElseFree_DefaultTakenSinceTheCheck_StartsOnFreePorts()
    {
        var starter = new FakeStarter(blob => blob == 10000
            ? AzuriteProcess.ExitedBeforeListening("listen EADDRINUSE: address already in use 127.0.0.1:10000")
            : null);

        var started = await StorageLocator.DefaultsElseFreeAsync(Defaults, starter.StartAsync);

        Assert.Equal("up on 0", started);
        Assert.Equal([Defaults, [0, 0, 0]], starter.Starts);
    }

    [Fact]
    public async Task DefaultsElseFree_DefaultsFree_StartsOnThem()
    {
        var starter = new FakeStarter(_ => null);

        var started = await StorageLocator.DefaultsElseFreeAsync(Defaults, starter.StartAsync);

        Assert.Equal("up on 10000", started);
        Assert.Single(starter.Starts);
    }

    [Fact]
    public async Task DefaultsElseFree_OtherFailure_ThrownWithoutASecondStart()
    {
        var starter = new FakeStarter(_ => AzuriteProcess.ExitedBeforeListening("Error: Cannot find module"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StorageLocator.DefaultsElseFreeAsync(Defaults, starter.StartAsync));

        Assert.Contains("Cannot find module", error.Message, StringComparison.Ordinal);
        Assert.Single(starter.Starts);
    }

    [Fact]
    public async Task DefaultsElseFree_NoDefaults_StartsOnFreePortsOnly()
    {
        var starter = new FakeStarter(_ => null);

        await StorageLocator.DefaultsElseFreeAsync(null, starter.StartAsync);

        Assert.Equal([[0, 0, 0]], starter.Starts);
    }
}
