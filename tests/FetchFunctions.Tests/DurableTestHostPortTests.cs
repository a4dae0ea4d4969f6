using System.Net;
using System.Net.Sockets;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.DurableTask.Testing;

namespace FetchFunctions.Tests;

/// <summary>The failure CI once saw, made on purpose: the Durable in-process test host given a port something else holds.</summary>
public sealed class DurableTestHostPortTests
{
    [Fact]
    public async Task DurableTaskTestHost_PortTaken_FailsWithAddressInUseAndTestPortsStartsItOnAnother()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen();
        var taken = ((IPEndPoint)holder.LocalEndPoint!).Port;
        var handOut = new Queue<int>([taken]);
        var failures = new List<Exception>();

        await using var host = await TestPorts.StartAsync(1, async ports =>
        {
            try
            {
                return await DurableTaskTestHost.StartAsync(_ => { }, new DurableTaskTestHostOptions { Port = ports[0] });
            }
            catch (Exception ex)
            {
                failures.Add(ex);
                throw;
            }
        }, () => handOut.TryDequeue(out var next) ? next : Random.Shared.Next(TestPorts.Range.Low, TestPorts.Range.High));

        Assert.Empty(handOut);
        Assert.NotEmpty(failures);
        Assert.True(TestPorts.IsAddressInUse(failures[0]), failures[0].ToString());
        Assert.Contains($"127.0.0.1:{taken}", failures[0].Message, StringComparison.Ordinal);
        // The host that did start answers its client.
        Assert.Null(await host.Client.GetInstanceAsync("no-such-instance"));
    }
}
