using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Discovery;

/// <summary>The link discovery of one fetch, as the fetch engine sees it: <see cref="Wrap"/> at the response (the body's
/// start is kept as it streams into the sink, when the page is HTML and its links could be followed), then
/// <see cref="CompleteAsync"/> once the body was read to its end, which reads the links from what was kept and adds the
/// page to its batch's link log. A redirected page is logged even without links: its final URL counts as seen.</summary>
internal sealed class PageLinkCapture(HtmlLinkExtractor extractor, LinkLogWriter log, DiscoverySettings discovery, int pageDepth, int parseBytes,
    int maxUrlLength, IReadOnlyCollection<int> allowedPorts) : IDisposable
{
    private BodyPrefixCapture? _capture;

    public int PageDepth => pageDepth;

    /// <summary>The response body to hand on (under the engine's meter): wrapped when the page's links are read, else as it is.
    /// Called again for a body read again, it starts afresh.</summary>
    public Stream Wrap(Stream responseBody, int status, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(responseBody);
        if (!DiscoveryRules.CapturesLinks(discovery, pageDepth, status, contentType))
        {
            return responseBody;
        }

        _capture ??= new BodyPrefixCapture(parseBytes);
        _capture.Reset();
        return new CaptureReadStream(responseBody, _capture);
    }

    /// <summary>After the body was read to its end: logs the page's links (if kept) and its final URL (if redirected).
    /// <paramref name="xRobotsTag"/>: the response's X-Robots-Tag values.</summary>
    public async Task CompleteAsync(string url, Uri finalUrl, string? contentType, IEnumerable<string>? xRobotsTag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(finalUrl);
        var final = UrlNormaliser.TryNormalise(finalUrl.AbsoluteUri, maxUrlLength, allowedPorts, out var normalisedFinal) is null
            && !string.Equals(normalisedFinal, url, StringComparison.Ordinal) ? normalisedFinal : null;
        var links = _capture is null
            ? PageLinks.None
            : extractor.Extract(_capture.Captured, contentType, finalUrl, HtmlLinkExtractor.HeaderSaysNofollow(xRobotsTag), _capture.Truncated);
        if (links.Links.Count == 0 && links.Unusable == 0 && final is null)
        {
            return;
        }

        await log.AddAsync(new LoggedPage(url, pageDepth, final, links), cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _capture?.Dispose();
}
