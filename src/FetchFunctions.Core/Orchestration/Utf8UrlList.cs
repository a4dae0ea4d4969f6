namespace FetchFunctions.Core.Orchestration;

/// <summary>URLs as their UTF-8 bytes, packed into pages: about half the memory of a string each (one byte a character
/// for ASCII, no object header) and nothing for the garbage collector to trace, which is what the planner holds of up
/// to <see cref="Jobs.CrawlOptions.PlanPartitionUrls"/> URLs at once.</summary>
internal sealed class Utf8UrlList
{
    private const int PageBytes = 4 * 1024 * 1024;

    private readonly List<byte[]> _pages = [];
    private int _page;
    private int _used;

    // Per URL: its page (high 32 bits) and offset in it (low 32 bits), and its length.
    private long[] _where;
    private int[] _lengths;

    public Utf8UrlList(int capacity)
    {
        _where = new long[Math.Max(capacity, 16)];
        _lengths = new int[_where.Length];
    }

    public int Count { get; private set; }

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            var where = _where[index];
            return _pages[(int)(where >> 32)].AsSpan((int)where, _lengths[index]);
        }
    }

    /// <summary>Forgets every URL, keeping the pages for the next ones (the planner holds one group after another).</summary>
    public void Clear()
    {
        Count = 0;
        _page = 0;
        _used = 0;
    }

    /// <summary>Appends a copy of <paramref name="url"/>; returns its index.</summary>
    public int Add(ReadOnlySpan<byte> url)
    {
        if (Count == _where.Length)
        {
            Array.Resize(ref _where, 2 * Count);
            Array.Resize(ref _lengths, 2 * Count);
        }

        if (_pages.Count == 0 || _pages[_page].Length - _used < url.Length)
        {
            // The next page kept from before a Clear, or a new one; a URL longer than a page gets a page of its own size.
            _page = _pages.Count == 0 ? 0 : _page + 1;
            while (_page < _pages.Count && _pages[_page].Length < url.Length)
            {
                _page++;
            }

            if (_page == _pages.Count)
            {
                _pages.Add(GC.AllocateUninitializedArray<byte>(Math.Max(PageBytes, url.Length)));
            }

            _used = 0;
        }

        var page = _page;
        url.CopyTo(_pages[page].AsSpan(_used));
        _where[Count] = ((long)page << 32) | (uint)_used;
        _lengths[Count] = url.Length;
        _used += url.Length;
        return Count++;
    }
}
