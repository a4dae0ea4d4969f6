using System.Text;

namespace FetchFunctions.Core.Warc;

/// <summary>The SURT urlkey of CDX(J) lines, as warcio.js (and so ReplayWeb.page) computes it: the URL lowercased, a
/// leading <c>www.</c> (or <c>www2.</c> ...) dropped, host labels reversed and joined by ',', a non-default port after
/// ':', then ')' and the path, then the query with its parameters sorted (ordinal).</summary>
internal static class Surt
{
    public static string Of(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith("http:", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("https:", StringComparison.OrdinalIgnoreCase))
        {
            return url;
        }

        if (!Uri.TryCreate(url.ToLowerInvariant(), UriKind.Absolute, out var uri))
        {
            return url;
        }

        var host = uri.IdnHost;
        if (host.StartsWith("www", StringComparison.Ordinal))
        {
            var digits = 3;
            while (digits < host.Length && char.IsAsciiDigit(host[digits]))
            {
                digits++;
            }

            if (digits < host.Length && host[digits] == '.')
            {
                host = host[(digits + 1)..];
            }
        }

        var key = new StringBuilder(url.Length + 8);
        var labels = host.Split('.');
        for (var i = labels.Length - 1; i >= 0; i--)
        {
            key.Append(labels[i]);
            if (i > 0)
            {
                key.Append(',');
            }
        }

        if (!uri.IsDefaultPort)
        {
            key.Append(':').Append(uri.Port);
        }

        key.Append(')').Append(uri.AbsolutePath);
        if (uri.Query.Length > 1)
        {
            var parameters = uri.Query[1..].Split('&');
            Array.Sort(parameters, StringComparer.Ordinal);
            key.Append('?').AppendJoin('&', parameters);
        }

        return key.ToString();
    }
}
