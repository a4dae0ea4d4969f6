using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Discovery;

/// <summary>A link found on a page: its normalised URL, and whether it is not to be followed (every occurrence of it on
/// the page was rel="nofollow", or the whole page is nofollow).</summary>
internal sealed record ExtractedLink(string Url, bool Nofollow);

/// <summary>The links of one page, de-duplicated in document order. <see cref="Unusable"/> counts links dropped for their
/// scheme (javascript:, mailto:, data:, ...) or for failing the job's URL rules; <see cref="OverCap"/> links beyond
/// <see cref="HtmlLinkExtractor.MaxLinksPerPage"/>; <see cref="Truncated"/> says the page was longer than the parse cap.</summary>
internal sealed record PageLinks(IReadOnlyList<ExtractedLink> Links, bool PageNofollow, int Unusable, int OverCap, bool Truncated)
{
    public static PageLinks None { get; } = new([], false, 0, 0, false);
}

/// <summary>Reads the links of an HTML page with a real HTML5 parser (AngleSharp): <c>&lt;a href&gt;</c>,
/// <c>&lt;area href&gt;</c>, <c>&lt;frame src&gt;</c> and <c>&lt;iframe src&gt;</c>, resolved against the page's final URL
/// or its first <c>&lt;base href&gt;</c>, normalised with the planner's <see cref="UrlNormaliser"/> (so they compare with
/// the job's URLs), fragment-only links dropped. Pure: the bytes come from a <see cref="BodyPrefixCapture"/>.</summary>
internal sealed class HtmlLinkExtractor(int maxUrlLength, IReadOnlyCollection<int> allowedPorts)
{
    /// <summary>Links kept per page, so that one page cannot flood a round's link file.</summary>
    public const int MaxLinksPerPage = 10_000;

    private const string LinkSelector = "a[href], area[href], frame[src], iframe[src]";

    /// <summary>Whether a response's Content-Type is one links are read from: <c>text/html</c>, <c>application/xhtml+xml</c>.</summary>
    public static bool IsHtml(string? contentType)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType is not { } type)
        {
            return false;
        }

        return type.Equals("text/html", StringComparison.OrdinalIgnoreCase) || type.Equals("application/xhtml+xml", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether <c>X-Robots-Tag</c> header values make the page's links nofollow. A directive for a named agent
    /// ("otherbot: nofollow") counts too: holding back is the polite reading.</summary>
    public static bool HeaderSaysNofollow(IEnumerable<string>? xRobotsTagValues) =>
        xRobotsTagValues is not null && xRobotsTagValues.Any(SaysNofollow);

    /// <summary>Whether robots directives (a meta robots content or an X-Robots-Tag value) include nofollow or none.</summary>
    public static bool SaysNofollow(string? directives)
    {
        if (string.IsNullOrEmpty(directives))
        {
            return false;
        }

        foreach (var part in directives.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = part.LastIndexOf(':');
            var directive = colon < 0 ? part : part[(colon + 1)..].Trim();
            if (directive.Equals("nofollow", StringComparison.OrdinalIgnoreCase) || directive.Equals("none", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The links in <paramref name="body"/> (the kept prefix of a page whose final URL is <paramref name="pageUrl"/>).
    /// <paramref name="headerNofollow"/>: the response's X-Robots-Tag said nofollow.</summary>
    public PageLinks Extract(ReadOnlyMemory<byte> body, string? contentType, Uri pageUrl, bool headerNofollow, bool truncated)
    {
        ArgumentNullException.ThrowIfNull(pageUrl);
        using var document = Parse(body, contentType);
        var pageNofollow = headerNofollow || document.QuerySelectorAll("meta[name][content]")
            .Any(meta => meta.GetAttribute("name")!.Trim().Equals("robots", StringComparison.OrdinalIgnoreCase) && SaysNofollow(meta.GetAttribute("content")));
        var baseUrl = pageUrl;
        if (document.QuerySelector("base[href]")?.GetAttribute("href") is { } baseHref && Uri.TryCreate(pageUrl, Trim(baseHref), out var based)
            && based.Scheme is "http" or "https")
        {
            baseUrl = based;
        }

        var order = new List<string>();
        var followable = new Dictionary<string, bool>(StringComparer.Ordinal);
        int unusable = 0, overCap = 0;
        foreach (var element in document.QuerySelectorAll(LinkSelector))
        {
            var isFrame = element.LocalName is "frame" or "iframe";
            var reference = Trim(element.GetAttribute(isFrame ? "src" : "href")!);
            if (reference.Length == 0 || reference[0] == '#')
            {
                // Empty and fragment-only references name the page itself.
                continue;
            }

            if (!Uri.TryCreate(baseUrl, reference, out var resolved) || resolved.Scheme is not ("http" or "https")
                || UrlNormaliser.TryNormalise(resolved.AbsoluteUri, maxUrlLength, allowedPorts, out var url) is not null)
            {
                unusable++;
                continue;
            }

            var nofollow = pageNofollow || (!isFrame && HasNofollowRel(element));
            if (followable.TryGetValue(url, out var known))
            {
                followable[url] = known || !nofollow;
                continue;
            }

            if (order.Count == MaxLinksPerPage)
            {
                overCap++;
                continue;
            }

            order.Add(url);
            followable[url] = !nofollow;
        }

        return new PageLinks([.. order.Select(url => new ExtractedLink(url, !followable[url]))], pageNofollow, unusable, overCap, truncated);
    }

    private static AngleSharp.Html.Dom.IHtmlDocument Parse(ReadOnlyMemory<byte> body, string? contentType)
    {
        var parser = new HtmlParser(new HtmlParserOptions { IsScripting = false });
        if (CharsetOf(contentType) is { } encoding)
        {
            return parser.ParseDocument(encoding.GetString(body.Span));
        }

        // No charset in the header: the parser sniffs a BOM or a meta charset, as a browser does.
        var stream = MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);
        using (stream)
        {
            return parser.ParseDocument(stream);
        }
    }

    private static Encoding? CharsetOf(string? contentType)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media) || string.IsNullOrWhiteSpace(media.CharSet))
        {
            return null;
        }

        try
        {
            return Encoding.GetEncoding(media.CharSet.Trim('"', ' '));
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static bool HasNofollowRel(IElement element) =>
        element.GetAttribute("rel") is { } rel
        && rel.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Any(token => token.Equals("nofollow", StringComparison.OrdinalIgnoreCase));

    // HTML strips leading and trailing ASCII whitespace from URLs, and the URL parser drops tabs and newlines inside.
    private static string Trim(string reference) =>
        reference.Trim(' ', '\t', '\n', '\r', '\f').Replace("\t", string.Empty, StringComparison.Ordinal)
            .Replace("\n", string.Empty, StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal);
}
