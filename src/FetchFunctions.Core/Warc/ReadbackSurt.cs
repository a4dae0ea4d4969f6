using System.Text;
using System.Text.RegularExpressions;

namespace FetchFunctions.Core.Warc;

/// <summary>The SURT urlkey of a URL as warcio.js's <c>getSurt</c> writes it (its <c>cdx-index</c> and pywb look lines up
/// by it): <c>www</c>/<c>wwwN</c> dropped, lowercased, host labels reversed, a non-default port kept, query arguments
/// sorted. Named for the reading side: the WARC writer has its own, and the two are to become one.</summary>
internal static partial class ReadbackSurt
{
    [GeneratedRegex(@"^(https?://)www\d*\.", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingWww();

    public static string UrlKey(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith("http:", StringComparison.Ordinal) && !url.StartsWith("https:", StringComparison.Ordinal))
        {
            return url;
        }

        var lower = LeadingWww().Replace(url, "$1").ToLowerInvariant();
        if (!Uri.TryCreate(lower, UriKind.Absolute, out var uri))
        {
            return url;
        }

        var key = new StringBuilder(lower.Length);
        var labels = uri.Host.Split('.');
        Array.Reverse(labels);
        key.AppendJoin(',', labels);
        if (!uri.IsDefaultPort)
        {
            key.Append(':').Append(uri.Port);
        }

        key.Append(')').Append(uri.AbsolutePath);
        if (uri.Query.Length > 1)
        {
            var arguments = uri.Query[1..].Split('&');
            Array.Sort(arguments, StringComparer.Ordinal);
            key.Append('?').AppendJoin('&', arguments);
        }

        return key.ToString();
    }
}
