namespace FetchFunctions.Core.Orchestration;

/// <summary>A big job's hosts as the first reading counted them: ids by host hash, numbered partition after partition,
/// and each host's URLs.</summary>
internal sealed record HostCounts(HostHashTable Table, int[] Sizes);

/// <summary>Consecutive shards whose URLs go to one spill blob: their places in the manifests are
/// [<see cref="FirstPlace"/>, <see cref="FirstPlace"/> + <see cref="Urls"/>).</summary>
internal readonly record struct SpillGroup(int FirstShard, int ShardCount, int FirstPlace, int Urls);

/// <summary>Where each URL of a layout goes in the manifests: its place counts the URLs before it, shard after shard,
/// batch after batch, segment after segment (the manifests' own order).</summary>
internal sealed class ManifestPlaces
{
    private readonly int[] _segmentStarts;

    public ManifestPlaces(CrawlPlan plan, HostLayout layout)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(layout);
        Layout = layout;
        BatchesPerShard = plan.BatchesPerShard;
        _segmentStarts = new int[layout.Segments.Length + 1];
        for (var s = 0; s < layout.Segments.Length; s++)
        {
            _segmentStarts[s + 1] = _segmentStarts[s] + layout.Segments[s].Count;
        }
    }

    public HostLayout Layout { get; }

    public int BatchesPerShard { get; }

    public int OfSegment(int segment) => _segmentStarts[segment];

    /// <summary>The place of batch <paramref name="batch"/>'s first URL (the end of all, for the batch count).</summary>
    public int OfBatch(int batch) => _segmentStarts[Layout.BatchStarts[batch]];

    /// <summary>The place of shard <paramref name="shard"/>'s first URL (the end of all, past the last shard).</summary>
    public int OfShard(CrawlPlan plan, int shard)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return OfBatch((int)Math.Min((long)shard * BatchesPerShard, plan.BatchCount));
    }
}

/// <summary>Where the next URL of each host goes as the list is read again in its order: the k-th URL of a host is at
/// offset k of the host's own order, which lies in one of its segments (several for a host in a lane, in offset order).</summary>
internal sealed class HostCursors
{
    private readonly HostSegment[] _segments;
    private readonly int[] _hostSegmentStarts;
    private readonly int[] _hostSegments;
    private readonly int[] _placed;
    private readonly int[] _cursor;

    public HostCursors(HostLayout layout, int hosts)
    {
        ArgumentNullException.ThrowIfNull(layout);
        _segments = layout.Segments;
        _hostSegmentStarts = new int[hosts + 1];
        foreach (var segment in _segments)
        {
            _hostSegmentStarts[segment.Host + 1]++;
        }

        for (var host = 0; host < hosts; host++)
        {
            _hostSegmentStarts[host + 1] += _hostSegmentStarts[host];
        }

        // A host's segments in layout order, which is its offset order (a lane deals each host's URLs batch after batch).
        _hostSegments = new int[_segments.Length];
        var next = _hostSegmentStarts[..^1];
        for (var s = 0; s < _segments.Length; s++)
        {
            _hostSegments[next[_segments[s].Host]++] = s;
        }

        _placed = new int[hosts];
        _cursor = _hostSegmentStarts[..^1];
    }

    /// <summary>The segment of host <paramref name="host"/>'s next URL and the URL's offset within that segment.</summary>
    public (int Segment, int Offset) Next(int host, string jobId)
    {
        var k = _placed[host]++;
        var cursor = _cursor[host];
        while (cursor < _hostSegmentStarts[host + 1] && k >= _segments[_hostSegments[cursor]].Offset + _segments[_hostSegments[cursor]].Count)
        {
            cursor++;
        }

        if (cursor == _hostSegmentStarts[host + 1])
        {
            throw new InvalidDataException($"The URL list of job '{jobId}' changed while it was planned (a host has more URLs than counted).");
        }

        _cursor[host] = cursor;
        var segment = _hostSegments[cursor];
        return (segment, k - _segments[segment].Offset);
    }

    /// <summary>Fails unless every host's URLs were all placed.</summary>
    public void CheckAllPlaced(string jobId)
    {
        for (var host = 0; host < _placed.Length; host++)
        {
            var last = _hostSegmentStarts[host + 1] - 1;
            var expected = last < _hostSegmentStarts[host] ? 0 : _segments[_hostSegments[last]].Offset + _segments[_hostSegments[last]].Count;
            if (_placed[host] != expected)
            {
                throw new InvalidDataException($"The URL list of job '{jobId}' changed while it was planned (a host has fewer URLs than counted).");
            }
        }
    }
}

/// <summary>What the second reading of a big job's list carries from one block of lines to the next.</summary>
internal sealed class SpillState(Jobs.StoredJob job, HostHashTable hosts, HostCursors cursors, ManifestPlaces places, SpillGroup[] groups,
    byte[] groupOfSegment, Storage.StagedBlobWriter?[] writers)
{
    public Jobs.StoredJob Job { get; } = job;

    public HostHashTable Hosts { get; } = hosts;

    public HostCursors Cursors { get; } = cursors;

    public ManifestPlaces Places { get; } = places;

    public SpillGroup[] Groups { get; } = groups;

    public byte[] GroupOfSegment { get; } = groupOfSegment;

    public Storage.StagedBlobWriter?[] Writers { get; } = writers;

    /// <summary>URLs read so far.</summary>
    public int Count { get; set; }
}
