using System.Globalization;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Discovery;

/// <summary>One page's entry in a batch's link log: the URL fetched, its depth, its final URL when it was redirected
/// (which then counts as seen), and its links.</summary>
internal sealed record LoggedPage(string Url, int Depth, string? FinalUrl, PageLinks Links);

/// <summary>The text format of <c>{jobId}/links/{batch:D6}.txt</c>, written by a batch's fetches and read by the frontier.
/// Per page a header line <c>@depth\tunusable\tovercap\turl\tfinalUrl</c> (finalUrl "-" when not redirected), then one
/// line per link: <c>+url</c> to follow, <c>-url</c> nofollow. Normalised URLs hold no tab, space or line break.</summary>
internal static class LinkLog
{
    public const string ContentType = "text/plain; charset=utf-8";

    public static IEnumerable<string> Lines(LoggedPage page)
    {
        ArgumentNullException.ThrowIfNull(page);
        var final = page.FinalUrl is { } f && !string.Equals(f, page.Url, StringComparison.Ordinal) ? f : "-";
        yield return string.Create(CultureInfo.InvariantCulture,
            $"@{page.Depth}\t{page.Links.Unusable}\t{page.Links.OverCap}\t{page.Url}\t{final}");
        foreach (var link in page.Links.Links)
        {
            yield return (link.Nofollow ? "-" : "+") + link.Url;
        }
    }

    /// <summary>Reads a header line, or returns null for a link line.</summary>
    public static LogHeader? ParseHeader(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!line.StartsWith('@'))
        {
            return null;
        }

        var parts = line[1..].Split('\t');
        if (parts.Length != 5)
        {
            throw new InvalidDataException($"Not a link log page line: '{line}'.");
        }

        return new LogHeader(int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture),
            int.Parse(parts[2], CultureInfo.InvariantCulture), parts[3], parts[4] == "-" ? null : parts[4]);
    }
}

internal sealed record LogHeader(int Depth, int Unusable, int OverCap, string Url, string? FinalUrl);

/// <summary>Collects a batch's link log as its pages finish (concurrently) and commits it with the batch: before the
/// batch's results blob, which says the batch is done. Staged in blocks, so memory stays one block whatever the batch
/// finds; nothing is visible before <see cref="CommitAsync"/>, and a re-run batch writes the whole log again.</summary>
internal sealed class LinkLogWriter(StagedTextWriter writer) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public int Pages { get; private set; }

    public async Task AddAsync(LoggedPage page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var line in LinkLog.Lines(page))
            {
                await writer.WriteLineAsync(line, cancellationToken).ConfigureAwait(false);
            }

            Pages++;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await writer.CommitAsync(LinkLog.ContentType, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        writer.Dispose();
        _gate.Dispose();
    }
}
