using System.Globalization;

namespace FetchFunctions.Core.Jobs;

/// <summary>Checks one URL of a job and brings it into the canonical form the job stores: lowercase scheme and host
/// (IDN hosts in their ASCII form), no default port, no fragment, no user info, escaped path and query.
/// The canonical form is a fixed point: parsing it again yields the same <see cref="Uri.AbsoluteUri"/>, which is what
/// body blob names are derived from.</summary>
internal static class UrlNormaliser
{
    /// <summary>Null when <paramref name="raw"/> is acceptable (then <paramref name="normalised"/> is set); otherwise why not.</summary>
    public static string? TryNormalise(string? raw, int maxLength, IReadOnlyCollection<int> allowedPorts, out string normalised)
    {
        ArgumentNullException.ThrowIfNull(allowedPorts);
        normalised = string.Empty;
        var text = raw?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return "is empty.";
        }

        if (text.Length > maxLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"is {text.Length} characters long; at most {maxLength} are allowed.");
        }

        if (text.Any(char.IsControl))
        {
            return "contains control characters.";
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return "is not an absolute URL.";
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            return $"has the scheme '{uri.Scheme}'; only http and https are allowed.";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "contains credentials (user info before '@'); they are not allowed in URLs.";
        }

        if (uri.Host.Length == 0)
        {
            return "has no host.";
        }

        if (uri.Port is < 1 or > 65535)
        {
            return string.Create(CultureInfo.InvariantCulture, $"has port {uri.Port}, which is not a port a server listens on.");
        }

        if (allowedPorts.Count > 0 && !allowedPorts.Contains(uri.Port))
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"uses port {uri.Port}; allowed ports are {string.Join(", ", allowedPorts.Order())}.");
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        var port = uri.IsDefaultPort ? string.Empty : string.Create(CultureInfo.InvariantCulture, $":{uri.Port}");
        var canonical = new Uri($"{uri.Scheme}://{host}{port}{uri.PathAndQuery}", UriKind.Absolute).AbsoluteUri;
        if (canonical.Length > maxLength)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"is {canonical.Length} characters long once normalised; at most {maxLength} are allowed.");
        }

        normalised = canonical;
        return null;
    }

    /// <summary>The host of a canonical URL (without port; IPv6 in brackets), sliced without parsing it again:
    /// the planner calls this a million times for a big job.</summary>
    public static ReadOnlySpan<char> HostOf(string normalisedUrl)
    {
        ArgumentNullException.ThrowIfNull(normalisedUrl);
        return HostOf(normalisedUrl.AsSpan());
    }

    /// <inheritdoc cref="HostOf(string)"/>
    public static ReadOnlySpan<char> HostOf(ReadOnlySpan<char> normalisedUrl)
    {
        var schemeEnd = normalisedUrl.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return [];
        }

        var authority = normalisedUrl[(schemeEnd + 3)..];
        var end = authority.IndexOfAny('/', '?', '#');
        if (end >= 0)
        {
            authority = authority[..end];
        }

        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            return close < 0 ? authority : authority[..(close + 1)];
        }

        var colon = authority.LastIndexOf(':');
        return colon < 0 ? authority : authority[..colon];
    }

    /// <summary>The host of a canonical URL in UTF-8, as <see cref="HostOf(string)"/> slices it: the delimiters are ASCII,
    /// and no byte of a multi-byte UTF-8 sequence is, so decoding the slice gives what slicing the decoded URL gives.</summary>
    public static ReadOnlySpan<byte> HostOf(ReadOnlySpan<byte> normalisedUrl)
    {
        var schemeEnd = normalisedUrl.IndexOf("://"u8);
        if (schemeEnd < 0)
        {
            return [];
        }

        var authority = normalisedUrl[(schemeEnd + 3)..];
        var end = authority.IndexOfAny((byte)'/', (byte)'?', (byte)'#');
        if (end >= 0)
        {
            authority = authority[..end];
        }

        if (authority.StartsWith((byte)'['))
        {
            var close = authority.IndexOf((byte)']');
            return close < 0 ? authority : authority[..(close + 1)];
        }

        var colon = authority.LastIndexOf((byte)':');
        return colon < 0 ? authority : authority[..colon];
    }
}
