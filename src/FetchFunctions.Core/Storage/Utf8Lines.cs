namespace FetchFunctions.Core.Storage;

/// <summary>The non-empty lines of a block of UTF-8 text, as spans: a line ends at '\n' or '\r' (so "\r\n" ends one line
/// and leaves an empty one, which is skipped). The same lines <see cref="StreamReader.ReadLine"/> gives, less the empty
/// ones, without a string each.</summary>
internal ref struct Utf8Lines(ReadOnlySpan<byte> text)
{
    private ReadOnlySpan<byte> _rest = text;

    public ReadOnlySpan<byte> Current { get; private set; }

    public readonly Utf8Lines GetEnumerator() => this;

    public bool MoveNext()
    {
        var offset = 0;
        if (!TryRead(_rest, ref offset, out var line))
        {
            _rest = [];
            return false;
        }

        Current = line;
        _rest = _rest[offset..];
        return true;
    }

    /// <summary>The next non-empty line of <paramref name="text"/> from <paramref name="offset"/>, which moves past it (and
    /// its line break); false at the end. For loops that must stop half-way through a block and go on later.</summary>
    public static bool TryRead(ReadOnlySpan<byte> text, scoped ref int offset, out ReadOnlySpan<byte> line)
    {
        while (offset < text.Length)
        {
            var rest = text[offset..];
            var end = rest.IndexOfAny((byte)'\n', (byte)'\r');
            line = end < 0 ? rest : rest[..end];
            offset = end < 0 ? text.Length : offset + end + 1;
            if (!line.IsEmpty)
            {
                return true;
            }
        }

        line = [];
        return false;
    }
}
