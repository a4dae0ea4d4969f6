using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FetchFunctions.Core.Tests.Infrastructure;

public sealed class TestPortsTests
{
    /// <summary>A port source that hands out the given ports in order, and counts how many it handed out.</summary>
    private sealed class Sequence(params int[] ports)
    {
        public int Taken { get; private set; }

        public int Next() => ports[Taken++];
    }

    private static IOException KestrelBindFailure(int port) =>
        new($"Failed to bind to address http://127.0.0.1:{port}: address already in use.", new AddressInUseException("Address already in use"));

    [Fact]
    public async Task StartAsync_AddressInUseOnce_StartsAgainOnFreshPorts()
    {
        var source = new Sequence(21000, 21001, 21002, 21003);
        var tried = new List<IReadOnlyList<int>>();

        var started = await TestPorts.StartAsync(2, ports =>
        {
            tried.Add(ports);
            return tried.Count == 1 ? Task.FromException<string>(KestrelBindFailure(ports[0])) : Task.FromResult("up");
        }, source.Next);

        Assert.Equal("up", started);
        Assert.Equal([[21000, 21001], [21002, 21003]], tried);
    }

    [Fact]
    public async Task StartAsync_PortRepeatedBySource_NeverTriesAPortTwice()
    {
        // A random source repeats itself; a port handed out twice in one start, or again after it failed, is skipped.
        var source = new Sequence(22000, 22000, 22001, 22000, 22001, 22002, 22003);
        var tried = new List<IReadOnlyList<int>>();

        await TestPorts.StartAsync(2, ports =>
        {
            tried.Add(ports);
            return tried.Count == 1 ? Task.FromException<int>(new SocketException((int)SocketError.AddressAlreadyInUse)) : Task.FromResult(0);
        }, source.Next);

        Assert.Equal([[22000, 22001], [22002, 22003]], tried);
    }

    [Fact]
    public async Task StartAsync_AlwaysInUse_GivesUpAfterMaxStartsWithTheBindFailure()
    {
        var next = 23000;
        var starts = 0;

        var error = await Assert.ThrowsAsync<IOException>(() => TestPorts.StartAsync<int>(1, ports =>
        {
            starts++;
            throw KestrelBindFailure(ports[0]);
        }, () => next++));

        Assert.Equal(TestPorts.MaxStarts, starts);
        Assert.Contains("23004", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_OtherFailure_ThrownAtOnce()
    {
        var starts = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => TestPorts.StartAsync<int>(1, _ =>
        {
            starts++;
            throw new InvalidOperationException("not a bind failure");
        }, new Sequence(24000).Next));

        Assert.Equal(1, starts);
    }

    [Fact]
    public void IsAddressInUse_WrappedOrAggregated_Recognised()
    {
        Assert.True(TestPorts.IsAddressInUse(KestrelBindFailure(1)));
        Assert.True(TestPorts.IsAddressInUse(new AggregateException(new TimeoutException(), new InvalidOperationException("x", new SocketException((int)SocketError.AddressAlreadyInUse)))));
        Assert.False(TestPorts.IsAddressInUse(new IOException("x", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.False(TestPorts.IsAddressInUse(new InvalidOperationException("address already in use")));
    }

    [Theory]
    [InlineData("32768\t60999\n", 20000, 32768)]
    [InlineData("40000 60999", 20000, 32768)]
    [InlineData("15000 60999", 2232, 15000)]
    [InlineData("1024 65535", 20000, 32768)]
    [InlineData(null, 20000, 32768)]
    public void RangeBelow_EphemeralRange_EndsBelowIt(string? ephemeral, int low, int high) =>
        Assert.Equal((low, high), TestPorts.RangeBelow(ephemeral));

    [Fact]
    public void Range_ThisMachine_BelowTheOsEphemeralPorts()
    {
        var (low, high) = TestPorts.Range;
        var ephemeralStart = File.Exists("/proc/sys/net/ipv4/ip_local_port_range")
            ? int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture)
            : 49152;

        Assert.InRange(low, 1024, high - 1000);
        Assert.True(high <= ephemeralStart || ephemeralStart <= 2048, $"[{low}, {high}) vs the OS's ephemeral ports from {ephemeralStart}");
    }
}
