using System.Collections.Concurrent;

namespace FetchFunctions.Core.Telemetry;

/// <summary>Caps the hosts named in metric attributes: the first <c>max</c> distinct hosts keep their name for the life of
/// the process, every later one is <see cref="Other"/>. First come rather than busiest, so a host's label never changes.</summary>
internal sealed class HostLabelCap(int max)
{
    /// <summary>The label of the hosts beyond the cap.</summary>
    public const string Other = "other";

    private readonly ConcurrentDictionary<string, byte> _named = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    // ConcurrentDictionary.Count takes every lock of the dictionary: every fetch of a host beyond the cap would pay it.
    private volatile int _count;

    public string Label(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        if (_named.ContainsKey(host))
        {
            return host;
        }

        // Lock-free once the cap is reached; the lock only keeps the count exact while hosts are still being named.
        if (_count >= max)
        {
            return Other;
        }

        lock (_lock)
        {
            if (_named.ContainsKey(host))
            {
                return host;
            }

            if (_count >= max)
            {
                return Other;
            }

            _named.TryAdd(host, 0);
            _count++;
            return host;
        }
    }
}
