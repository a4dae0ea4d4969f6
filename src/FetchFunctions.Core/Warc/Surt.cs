using System.Text;
using System.Text.RegularExpressions;

namespace FetchFunctions.Core.Warc;

/// <summary>The SURT urlkey of CDX(J) lines as warcio.js's <c>getSurt</c> writes it (its <c>cdx-index</c>, pywb and
/// ReplayWeb.page look lines up by it): a leading <c>www</c>/<c>wwwN</c> dropped, lowercased, host labels reversed and
/// joined by ',', a non-default port after ':', then ')' and the path, then the query with its arguments sorted
/// (ordinal). The writer's index and the reader's lookups both use it, so they cannot disagree.</summary>
internal static partial class Surt
{
    [GeneratedRegex(@"^(https?://)www\d*\.", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingWww();

    public static string Of(string url)
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

        // Path and query are sliced from the lowercased text: Uri would upper-case escapes such as %c3%a9 again.
        var afterScheme = lower.IndexOf("://", StringComparison.Ordinal) + 3;
        var pathStart = lower.IndexOfAny(['/', '?', '#'], afterScheme);
        var rest = pathStart < 0 ? string.Empty : lower[pathStart..];
        var hash = rest.IndexOf('#', StringComparison.Ordinal);
        rest = hash < 0 ? rest : rest[..hash];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var path = question < 0 ? rest : rest[..question];
        var query = question < 0 ? string.Empty : rest[question..];
        key.Append(')').Append(path.Length == 0 ? "/" : path);
        if (query.Length > 1)
        {
            var arguments = query[1..].Split('&');
            Array.Sort(arguments, StringComparer.Ordinal);
            key.Append('?').AppendJoin('&', arguments);
        }

        return key.ToString();
    }
}
