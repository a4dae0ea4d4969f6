using System.Collections.Concurrent;
using System.Net;

namespace FetchFunctions.Core.Security;

/// <summary>The address the SSRF guard last connected to, per host and port: what a WARC record's
/// <c>WARC-IP-Address</c> says. An approximation: a response is attributed to the host's most recent connection, which
/// differs only when one host's pooled connections went to different addresses of its DNS answer. One instance per
/// primary handler (held by DI, not static); bounded by the hosts a process fetches from.</summary>
internal sealed class ConnectedAddresses
{
    private readonly ConcurrentDictionary<(string Host, int Port), IPAddress> _last = new();

    public void Record(string host, int port, IPAddress address) => _last[(host, port)] = address;

    public IPAddress? For(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return _last.TryGetValue((url.IdnHost, url.Port), out var address) ? address : null;
    }
}
