using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace FetchFunctions.Core.Jobs;

/// <summary>Where a job's URLs come from. Read once to validate and once more to store, so reading must yield the same
/// entries each time.</summary>
internal interface IUrlSource
{
    /// <summary>The request field the URLs come from ("urls" or "urlListBlob").</summary>
    string Path { get; }

    /// <summary>The problem path of one entry.</summary>
    string PathOf(int ordinal);

    IAsyncEnumerable<UrlEntry> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>URLs listed in the request.</summary>
internal sealed class InlineUrlSource(IReadOnlyList<string> urls) : IUrlSource
{
    public int Count => urls.Count;

    public string Path => "urls";

    public string PathOf(int ordinal) => string.Create(CultureInfo.InvariantCulture, $"urls[{ordinal}]");

#pragma warning disable CS1998 // An iterator over memory has nothing to await.
    public async IAsyncEnumerable<UrlEntry> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
#pragma warning restore CS1998
    {
        for (var i = 0; i < urls.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Measured as the normaliser sees it: surrounding white space is trimmed, as in a URL list blob.
            yield return new UrlEntry(urls[i], urls[i] is { } url ? url.AsSpan().Trim().Length : 0, i);
        }
    }
}

/// <summary>URLs in a text stream, one per line; blank lines and lines starting with '#' are skipped. The ordinal of an
/// entry is its 1-based line number. Lines are read with a bounded buffer, so an absurdly long line costs no memory, and a
/// line longer than <see cref="MaxScannedLineLength"/> ends the reading (a binary file, /dev/zero), so it costs no time either,
/// as does a line beyond <paramref name="maxLines"/> (an endless stream of blank or comment lines).</summary>
internal sealed class TextUrlSource(Func<CancellationToken, Task<Stream>> open, int maxLineLength, string path = "urlListBlob", int maxLines = int.MaxValue)
    : IUrlSource
{
    /// <summary>Characters of one line read before the list is taken for something else than a URL list.</summary>
    public const int MaxScannedLineLength = 1024 * 1024;

    public string Path => path;

    public string PathOf(int ordinal) => string.Create(CultureInfo.InvariantCulture, $"{path}:{ordinal}");

    public async IAsyncEnumerable<UrlEntry> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = await open(cancellationToken);
        await using (stream)
        {
            using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 64 * 1024);
            var lines = new BoundedLineReader(reader, maxLineLength + 1, MaxScannedLineLength);
            var lineNumber = 0;
            while (await lines.ReadLineAsync(cancellationToken) is { } line)
            {
                if (lineNumber == maxLines)
                {
                    yield return new UrlEntry(null, 0, lineNumber, string.Create(CultureInfo.InvariantCulture,
                        $"is followed by more lines; reading stopped after {maxLines} lines."));
                    yield break;
                }

                lineNumber++;
                if (line.Unfinished)
                {
                    yield return new UrlEntry(line.Text, line.Length, lineNumber, string.Create(CultureInfo.InvariantCulture,
                        $"is more than {line.Length} characters long (at most {maxLineLength} are allowed); reading stopped there: is this a text file with one URL per line?"));
                    yield break;
                }

                var text = line.Text.Trim();
                if (text.Length == 0 || text.StartsWith('#'))
                {
                    continue;
                }

                yield return new UrlEntry(text, line.Truncated ? line.Length : text.Length, lineNumber);
            }
        }
    }
}

/// <summary>Inline URLs, then the entries of another source (the CLI's --url flags, then its URL file).</summary>
internal sealed class ConcatenatedUrlSource(InlineUrlSource first, IUrlSource then) : IUrlSource
{
    private readonly int _firstCount = first.Count;

    public string Path => then.Path;

    public string PathOf(int ordinal) => ordinal < _firstCount ? first.PathOf(ordinal) : then.PathOf(ordinal - _firstCount);

    public async IAsyncEnumerable<UrlEntry> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in first.ReadAsync(cancellationToken))
        {
            yield return entry;
        }

        await foreach (var entry in then.ReadAsync(cancellationToken))
        {
            yield return entry with { Ordinal = entry.Ordinal + _firstCount };
        }
    }
}

/// <summary>A line: its text (at most the reader's cap), its full length (or, when <see cref="Unfinished"/>, the length
/// read before the reader gave up on it), and whether the text was cut.</summary>
internal readonly record struct BoundedLine(string Text, long Length, bool Truncated, bool Unfinished = false);

/// <summary>Reads lines ('\n' or "\r\n") keeping at most <paramref name="maxKept"/> characters of each. A line longer
/// than <paramref name="maxScanned"/> is returned unfinished and ends the reading.</summary>
internal sealed class BoundedLineReader(TextReader reader, int maxKept, long maxScanned = long.MaxValue)
{
    private readonly char[] _buffer = new char[16 * 1024];
    private readonly StringBuilder _line = new();
    private int _position;
    private int _length;
    private bool _ended;

    public async ValueTask<BoundedLine?> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        long length = 0;
        var any = false;
        while (true)
        {
            if (_position == _length)
            {
                if (_ended)
                {
                    return any ? Finish(length) : null;
                }

                _length = await reader.ReadAsync(_buffer.AsMemory(), cancellationToken);
                _position = 0;
                _ended = _length == 0;
                continue;
            }

            any = true;
            var span = _buffer.AsSpan(_position, _length - _position);
            var newline = span.IndexOf('\n');
            var chunk = newline < 0 ? span : span[..newline];
            var room = maxKept - _line.Length;
            if (room > 0)
            {
                _line.Append(chunk[..Math.Min(room, chunk.Length)]);
            }

            length += chunk.Length;
            if (newline < 0)
            {
                _position = _length;
                if (length > maxScanned)
                {
                    // No end in sight (a binary file, /dev/zero): stop here rather than read on for ever.
                    _ended = true;
                    _length = 0;
                    _position = 0;
                    return new BoundedLine(_line.ToString(), maxScanned, Truncated: true, Unfinished: true);
                }

                continue;
            }

            _position += newline + 1;
            return Finish(length);
        }
    }

    private BoundedLine Finish(long length)
    {
        var truncated = length > _line.Length;
        if (!truncated && _line.Length > 0 && _line[^1] == '\r')
        {
            _line.Length--;
            length--;
        }

        return new BoundedLine(_line.ToString(), length, truncated);
    }
}
