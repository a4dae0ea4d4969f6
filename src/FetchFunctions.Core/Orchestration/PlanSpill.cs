namespace FetchFunctions.Core.Orchestration;

/// <summary>A big job's hosts as the first reading counted them: ids by host hash, numbered partition after partition,
/// and each host's URLs (needed only until the hosts are laid out).</summary>
internal sealed class HostCounts(HostHashTable table, int[] sizes)
{
    public HostHashTable Table { get; } = table;

    public int Count { get; } = sizes.Length;

    /// <summary>Each host's URLs; taking them lets them go (the table stays for the second reading).</summary>
    public int[] TakeSizes()
    {
        var taken = sizes;
        sizes = [];
        return taken;
    }
}

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
/// offset k of the host's own order, which lies in one of its segments. Most hosts have one segment; a host in a lane has
/// one per batch of the lane, in offset order, walked with a cursor. Eight bytes a host, plus twelve a lane host.</summary>
internal sealed class HostCursors
{
    private const int None = int.MinValue;

    private readonly HostSegment[] _segments;

    // Per host: its segment, or for a host of several segments the complement of its index among those hosts (None: no URL).
    private readonly int[] _first;
    private readonly int[] _placed;

    // Hosts of several segments: where their segments start in _laneSegments, and the segment each is at.
    private readonly int[] _laneStarts;
    private readonly int[] _laneSegments;
    private readonly int[] _laneCursor;

    public HostCursors(HostLayout layout, int hosts)
    {
        ArgumentNullException.ThrowIfNull(layout);
        _segments = layout.Segments;
        _first = new int[hosts];
        _first.AsSpan().Fill(None);
        _placed = new int[hosts];
        var laneHosts = 0;
        var laneSegments = 0;
        for (var s = 0; s < _segments.Length; s++)
        {
            var host = _segments[s].Host;
            if (_first[host] == None)
            {
                _first[host] = s;
            }
            else
            {
                if (_first[host] >= 0)
                {
                    // A second segment: the host joins the hosts of several segments.
                    _first[host] = ~laneHosts++;
                    laneSegments++;
                }

                laneSegments++;
            }
        }

        _laneStarts = new int[laneHosts + 1];
        _laneSegments = new int[laneSegments];
        _laneCursor = new int[laneHosts];
        foreach (var segment in _segments)
        {
            if (_first[segment.Host] < 0)
            {
                _laneStarts[~_first[segment.Host] + 1]++;
            }
        }

        for (var lane = 0; lane < laneHosts; lane++)
        {
            _laneStarts[lane + 1] += _laneStarts[lane];
            _laneCursor[lane] = _laneStarts[lane];
        }

        // A host's segments in layout order, which is its offset order (a lane deals each host's URLs batch after batch).
        for (var s = 0; s < _segments.Length; s++)
        {
            if (_first[_segments[s].Host] is < 0 and var laneHost)
            {
                _laneSegments[_laneCursor[~laneHost]++] = s;
            }
        }

        _laneStarts.AsSpan(0, laneHosts).CopyTo(_laneCursor);
    }

    /// <summary>The segment of host <paramref name="host"/>'s next URL and the URL's offset within that segment.</summary>
    public (int Segment, int Offset) Next(int host, string jobId)
    {
        var k = _placed[host]++;
        var first = _first[host];
        if (first >= 0)
        {
            return k < _segments[first].Count ? (first, k) : throw MoreThanCounted(jobId);
        }

        var lane = ~first;
        var cursor = _laneCursor[lane];
        while (cursor < _laneStarts[lane + 1] && k >= _segments[_laneSegments[cursor]].Offset + _segments[_laneSegments[cursor]].Count)
        {
            cursor++;
        }

        if (cursor == _laneStarts[lane + 1])
        {
            throw MoreThanCounted(jobId);
        }

        _laneCursor[lane] = cursor;
        var segment = _laneSegments[cursor];
        return (segment, k - _segments[segment].Offset);
    }

    /// <summary>Fails unless every host's URLs were all placed.</summary>
    public void CheckAllPlaced(string jobId)
    {
        for (var host = 0; host < _placed.Length; host++)
        {
            var first = _first[host];
            var expected = first switch
            {
                None => 0,
                >= 0 => _segments[first].Count,
                _ => _segments[_laneSegments[_laneStarts[~first + 1] - 1]].Offset + _segments[_laneSegments[_laneStarts[~first + 1] - 1]].Count,
            };
            if (_placed[host] != expected)
            {
                throw new InvalidDataException($"The URL list of job '{jobId}' changed while it was planned (a host has fewer URLs than counted).");
            }
        }
    }

    private static InvalidDataException MoreThanCounted(string jobId) =>
        new($"The URL list of job '{jobId}' changed while it was planned (a host has more URLs than counted).");
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
