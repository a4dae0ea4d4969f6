using System.Text;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;

namespace FetchFunctions.Core.Tests.Orchestration;

/// <summary>The planner's compact structures: URLs held as UTF-8, host ids by hash, the streaming fingerprint of bytes.</summary>
public sealed class PlannerStructuresTests
{
    private static readonly JobSettings Settings = new()
    {
        MaxConcurrency = 8, MaxConcurrencyPerHost = 2, PerHostDelay = TimeSpan.Zero, AttemptTimeout = TimeSpan.FromSeconds(5),
        TotalTimeout = TimeSpan.FromSeconds(20), MaxRetries = 1, MaxBodyBytes = 1024, UserAgent = "Bot/1",
        Headers = new Dictionary<string, string>(), StoreStatuses = ["200"], MaxRedirects = 2, AllowedNetworks = [], BatchSize = 10,
        MaxBatchesInFlight = 3,
    };

    [Fact]
    public void Utf8UrlList_UrlsAddedAcrossPages_EachReadBackByIndex()
    {
        var sut = new Utf8UrlList(4);
        var urls = Enumerable.Range(0, 100_000).Select(i => $"https://h{i % 7}.example/{new string('x', i % 300)}/{i}").ToList();
        var huge = "https://big.example/" + new string('y', 5 * 1024 * 1024);

        var indexes = urls.Select(url => sut.Add(Encoding.UTF8.GetBytes(url))).ToList();
        var hugeIndex = sut.Add(Encoding.UTF8.GetBytes(huge));

        Assert.Equal(Enumerable.Range(0, urls.Count), indexes);
        Assert.Equal(urls, indexes.Select(i => Encoding.UTF8.GetString(sut[i])));
        Assert.Equal(huge, Encoding.UTF8.GetString(sut[hugeIndex]));
        Assert.Equal(urls.Count + 1, sut.Count);
    }

    [Fact]
    public void Utf8UrlList_Cleared_HoldsOnlyWhatIsAddedAfter()
    {
        var sut = new Utf8UrlList(4);
        for (var i = 0; i < 200_000; i++)
        {
            sut.Add(Encoding.UTF8.GetBytes($"https://old.example/{i}"));
        }

        sut.Clear();
        var urls = Enumerable.Range(0, 150_000).Select(i => $"https://new{i % 3}.example/ä/{i}").ToList();
        foreach (var url in urls)
        {
            sut.Add(Encoding.UTF8.GetBytes(url));
        }

        Assert.Equal(urls.Count, sut.Count);
        Assert.Equal(urls, Enumerable.Range(0, sut.Count).Select(i => Encoding.UTF8.GetString(sut[i])));
        Assert.Throws<ArgumentOutOfRangeException>(() => sut[urls.Count].Length);
    }

    [Fact]
    public void HostHashTable_ManyHosts_IdsInFirstAppearanceOrderAndStableAcrossGrowth()
    {
        var sut = new HostHashTable(capacity: 4);
        var keys = Enumerable.Range(0, 50_000).Select(i => CrawlPlanner.HostHash($"h{i}.example")).ToList();

        var ids = keys.Select(key => sut.GetOrAdd(key, out var added) is var id && added ? id : -1).ToList();
        var again = keys.Select(key => sut.GetOrAdd(key, out var added) is var id && !added ? id : -1).ToList();

        Assert.Equal(Enumerable.Range(0, keys.Count), ids);
        Assert.Equal(ids, again);
        Assert.Equal(ids, keys.Select(sut.IdOf));
        Assert.Equal(keys.Count, sut.Count);
        Assert.Equal(-1, sut.IdOf(CrawlPlanner.HostHash("never.example")));
    }

    [Fact]
    public void HostHashTable_Renumbered_EachHostHasItsNewId()
    {
        var sut = new HostHashTable();
        var keys = Enumerable.Range(0, 1000).Select(i => CrawlPlanner.HostHash($"h{i}.example")).ToList();
        foreach (var key in keys)
        {
            sut.GetOrAdd(key, out _);
        }

        sut.Renumber([.. Enumerable.Range(0, 1000).Select(id => 999 - id)]);

        Assert.Equal(Enumerable.Range(0, 1000).Select(id => 999 - id), keys.Select(sut.IdOf));
    }

    [Fact]
    public void PartitionOf_IsTheHostHashModuloPartitions()
    {
        foreach (var host in new[] { "a.example", "b.example", "[::1]", "xn--bcher-kva.de" })
        {
            Assert.Equal((int)(CrawlPlanner.HostHash(host) % 10), CrawlPlanner.PartitionOf(host, 10));
        }
    }

    [Fact]
    public void GroupByHost_Utf8Urls_SameOrderAndHostsAsStrings()
    {
        var urls = Enumerable.Range(0, 5000).Select(i => (i % 5) switch
        {
            0 => $"https://big.example/{i}",
            1 => $"http://xn--bcher-kva.de:8080/ä{i}",
            2 => $"http://[::1]:{1000 + i % 3}/{i}",
            _ => $"https://h{i % 97}.example/{i}?q=ü",
        }).ToList();
        var utf8 = new Utf8UrlList(urls.Count);
        foreach (var url in urls)
        {
            utf8.Add(Encoding.UTF8.GetBytes(url));
        }

        var expected = CrawlPlanner.GroupByHost(urls);
        var actual = CrawlPlanner.GroupByHost(utf8);

        Assert.Equal(expected.Order, actual.Order);
        Assert.Equal(expected.HostStarts, actual.HostStarts);
    }

    [Fact]
    public void PlanFingerprint_UrlsAsUtf8Bytes_SameAsStrings()
    {
        var urls = new[] { "https://a.example/ä", "http://[::1]:8080/x", "https://b.example/" + new string('z', 70_000) };
        using var strings = new PlanFingerprint(Settings, 7, 4, 2);
        using var bytes = new PlanFingerprint(Settings, 7, 4, 2);

        foreach (var url in urls)
        {
            strings.AddUrl(url);
            bytes.AddUrl(Encoding.UTF8.GetBytes(url));
        }

        Assert.Equal(strings.Finish(), bytes.Finish());
    }

    [Fact]
    public void PlanFingerprint_InvalidUtf8Line_HashedAsTheDecodedText()
    {
        byte[] line = [(byte)'h', 0xC3, (byte)'x'];
        using var strings = new PlanFingerprint(Settings, 7, 4, 2);
        using var bytes = new PlanFingerprint(Settings, 7, 4, 2);

        strings.AddUrl(Encoding.UTF8.GetString(line));
        bytes.AddUrl(line);

        Assert.Equal(strings.Finish(), bytes.Finish());
    }

    [Fact]
    public void HostCursors_EachHostsUrlsInListOrder_KthUrlAtOffsetKOfItsOwnSegments()
    {
        // Hosts 0-3 big enough for lanes (several segments each), the rest one segment each.
        int[] sizes = [400, 230, 120, 90, .. Enumerable.Range(0, 300).Select(i => 1 + i % 5)];
        var layout = BatchLayout.Assign(sizes, 20, hostsPerLane: 4, window: 8);
        var sut = new HostCursors(layout, sizes.Length);
        var placed = new HashSet<(int, int)>();

        // Interleaved as a list would be: a round over the hosts still having URLs, again and again.
        var next = new int[sizes.Length];
        for (var round = 0; round < sizes.Max(); round++)
        {
            for (var host = 0; host < sizes.Length; host++)
            {
                if (next[host] == sizes[host])
                {
                    continue;
                }

                var (segment, offset) = sut.Next(host, "job");
                Assert.Equal(host, layout.Segments[segment].Host);
                Assert.Equal(next[host]++, layout.Segments[segment].Offset + offset);
                Assert.InRange(offset, 0, layout.Segments[segment].Count - 1);
                Assert.True(placed.Add((segment, offset)));
            }
        }

        sut.CheckAllPlaced("job");
        Assert.Equal(sizes.Sum(), placed.Count);
        Assert.Throws<InvalidDataException>(() => sut.Next(0, "job"));
        Assert.Throws<InvalidDataException>(() => sut.Next(10, "job"));
    }

    [Fact]
    public void HostCursors_AHostShortOfItsCount_CheckFails()
    {
        int[] sizes = [100, 3, 2];
        var layout = BatchLayout.Assign(sizes, 20, hostsPerLane: 1);
        var sut = new HostCursors(layout, sizes.Length);
        for (var host = 0; host < sizes.Length; host++)
        {
            for (var k = 0; k < sizes[host] - (host == 0 ? 1 : 0); k++)
            {
                sut.Next(host, "job");
            }
        }

        Assert.Throws<InvalidDataException>(() => sut.CheckAllPlaced("job"));
        sut.Next(0, "job");
        sut.CheckAllPlaced("job");
    }
}
