using System.Globalization;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Discovery;

/// <summary>Which discovered URLs a job may follow. The scope is taken from each seed and a URL is in scope when it is in
/// any seed's: with <see cref="ScopeKind.Host"/> its host is a seed's host (any scheme or port), with
/// <see cref="ScopeKind.Prefix"/> it starts with a seed's URL up to the last '/' of its path, with
/// <see cref="ScopeKind.Hosts"/> its host is listed or lies under a listed <c>*.domain</c>. The union keeps the test a
/// lookup whatever page a link was found on, and matches what a user listing seeds of one site means.</summary>
internal sealed class CrawlScope
{
    private static readonly IdnMapping Idn = new();

    private readonly ScopeKind _kind;
    private readonly HashSet<string> _hosts = new(StringComparer.Ordinal);

    // Sorted, none a prefix of another, so the greatest prefix not after a URL is the only one that can start it.
    private readonly string[] _prefixes = [];

    // ".example.org" for "*.example.org".
    private readonly string[] _domainSuffixes = [];

    private CrawlScope(ScopeKind kind, IEnumerable<string> hosts, string[] prefixes, string[] domainSuffixes)
    {
        _kind = kind;
        _hosts.UnionWith(hosts);
        _prefixes = prefixes;
        _domainSuffixes = domainSuffixes;
    }

    /// <summary>The scope of a job's seeds (normalised URLs).</summary>
    public static CrawlScope For(DiscoverySettings settings, IEnumerable<string> seeds)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(seeds);
        switch (settings.Scope)
        {
            case ScopeKind.Host:
                return new CrawlScope(ScopeKind.Host, seeds.Select(seed => UrlNormaliser.HostOf(seed).ToString()), [], []);
            case ScopeKind.Prefix:
                var sorted = seeds.Select(PrefixOf).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                var collapsed = new List<string>(sorted.Count);
                foreach (var prefix in sorted)
                {
                    // Sorted order puts a prefix right before the longer ones it covers.
                    if (collapsed.Count == 0 || !prefix.StartsWith(collapsed[^1], StringComparison.Ordinal))
                    {
                        collapsed.Add(prefix);
                    }
                }

                return new CrawlScope(ScopeKind.Prefix, [], [.. collapsed], []);
            default:
                var exact = settings.ScopeHosts.Where(h => !h.StartsWith("*.", StringComparison.Ordinal));
                var suffixes = settings.ScopeHosts.Where(h => h.StartsWith("*.", StringComparison.Ordinal)).Select(h => h[1..]).ToArray();
                return new CrawlScope(ScopeKind.Hosts, exact, [], suffixes);
        }
    }

    /// <summary>A seed's URL up to and including the last '/' of its path (the query is not part of it).</summary>
    public static string PrefixOf(string normalisedUrl)
    {
        ArgumentNullException.ThrowIfNull(normalisedUrl);
        var query = normalisedUrl.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? normalisedUrl : normalisedUrl[..query];
        return path[..(path.LastIndexOf('/') + 1)];
    }

    public bool Contains(string normalisedUrl)
    {
        ArgumentNullException.ThrowIfNull(normalisedUrl);
        switch (_kind)
        {
            case ScopeKind.Prefix:
                var at = Array.BinarySearch(_prefixes, normalisedUrl, StringComparer.Ordinal);
                if (at >= 0)
                {
                    return true;
                }

                var before = ~at - 1;
                return before >= 0 && normalisedUrl.StartsWith(_prefixes[before], StringComparison.Ordinal);
            case ScopeKind.Host:
                return _hosts.Contains(UrlNormaliser.HostOf(normalisedUrl).ToString());
            default:
                var host = UrlNormaliser.HostOf(normalisedUrl).ToString();
                return _hosts.Contains(host) || _domainSuffixes.Any(suffix => host.EndsWith(suffix, StringComparison.Ordinal));
        }
    }

    /// <summary>Null when <paramref name="entry"/> is a host name, an IP address or <c>*.domain</c> (then
    /// <paramref name="host"/> is its form as normalised URLs carry it: lowercase, IDN in ASCII, IPv6 in brackets);
    /// otherwise why not.</summary>
    public static string? TryNormaliseHostPattern(string? entry, out string host)
    {
        host = string.Empty;
        var text = entry?.Trim() ?? string.Empty;
        var wildcard = text.StartsWith("*.", StringComparison.Ordinal);
        var name = wildcard ? text[2..] : text;
        if (name.StartsWith('[') && name.EndsWith(']'))
        {
            name = name[1..^1];
        }

        const string Reason = "is not a host name, an IP address or '*.' followed by a domain (e.g. *.example.org).";
        if (name.Length is 0 or > 253 || name.Contains('*', StringComparison.Ordinal))
        {
            return Reason;
        }

        var kind = Uri.CheckHostName(name);
        if (kind == UriHostNameType.Unknown || (wildcard && kind != UriHostNameType.Dns))
        {
            // Uri.CheckHostName refuses IDN names; their ASCII form is checked instead.
            if (!TryAscii(name, out var ascii) || Uri.CheckHostName(ascii) != UriHostNameType.Dns)
            {
                return Reason;
            }

            name = ascii;
            kind = UriHostNameType.Dns;
        }

        name = kind switch
        {
            UriHostNameType.IPv6 => new Uri($"http://[{name}]/").Host,
            UriHostNameType.IPv4 => new Uri($"http://{name}/").Host,
            _ => TryAscii(name, out var dns) ? dns : name.ToLowerInvariant(),
        };
        host = wildcard ? $"*.{name}" : name;
        return null;
    }

    private static bool TryAscii(string name, out string ascii)
    {
        try
        {
            ascii = Idn.GetAscii(name).ToLowerInvariant();
            return true;
        }
        catch (ArgumentException)
        {
            ascii = string.Empty;
            return false;
        }
    }
}
