using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>The one place that hands out port numbers, for servers that cannot bind port 0 and report what they got.
/// Bind-and-pass (port 0) is the rule: Kestrel sites, the OTLP receiver and Azurite bind 0. Two cannot: the Durable
/// in-process test host (it takes a number, listens on localhost, and dials that number; left alone it picks a random
/// 30000–40000, inside Linux's ephemeral range 32768–60999, which is how it once found its port held by an Azurite or an
/// outgoing connection of the other test processes) and an Azurite restarted on its old ports.
/// So the ports come from below the OS's ephemeral range, where the OS never hands one out by itself (bind 0, connect),
/// and a start that still finds its port taken (another process that chose the same way) is tried again on fresh ports,
/// <see cref="MaxStarts"/> times at most.</summary>
internal static class TestPorts
{
    public const int MaxStarts = 5;

    private const string EphemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range";

    /// <summary>Where the ports are drawn from, [Low, High).</summary>
    public static (int Low, int High) Range { get; } = RangeBelow(File.Exists(EphemeralRangeFile) ? File.ReadAllText(EphemeralRangeFile) : null);

    /// <summary>[20000, 32768) by default: below the ephemeral ranges of Linux (32768) and Windows (49152). When the OS says
    /// its range starts lower (but leaves room), the 12768 ports just below it, never under 1024.</summary>
    internal static (int Low, int High) RangeBelow(string? ephemeralRange)
    {
        var parts = ephemeralRange?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) ?? [];
        var start = parts.Length > 0 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 32768;
        var high = start is > 2048 and < 32768 ? start : 32768;
        return (Math.Max(1024, high - 12768), high);
    }

    /// <summary>Starts a server on <paramref name="count"/> distinct ports; when it fails because a port is in use, starts it
    /// again on fresh ports. Any other failure, and the last address-in-use, are thrown.</summary>
    public static Task<T> StartAsync<T>(int count, Func<IReadOnlyList<int>, Task<T>> start) =>
        StartAsync(count, start, () => Random.Shared.Next(Range.Low, Range.High));

    internal static async Task<T> StartAsync<T>(int count, Func<IReadOnlyList<int>, Task<T>> start, Func<int> nextPort)
    {
        var tried = new List<int>();
        for (var attempt = 1; ; attempt++)
        {
            var ports = new List<int>(count);
            while (ports.Count < count)
            {
                var port = nextPort();
                if (!ports.Contains(port) && !tried.Contains(port))
                {
                    ports.Add(port);
                }
            }

            tried.AddRange(ports);
            try
            {
                return await start(ports);
            }
            catch (Exception ex) when (attempt < MaxStarts && IsAddressInUse(ex))
            {
                // Taken between our choice and the server's bind: a fresh choice, not a wait for the holder to let go.
            }
        }
    }

    /// <summary>Whether the failure, or one it wraps, is a bind that found the address in use (Kestrel wraps an
    /// <see cref="AddressInUseException"/> in an IOException; sockets and Azurite raise a <see cref="SocketException"/>).</summary>
    public static bool IsAddressInUse(Exception exception) => exception switch
    {
        AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsAddressInUse),
        { InnerException: { } inner } => IsAddressInUse(inner),
        _ => false,
    };
}
