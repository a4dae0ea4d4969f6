using FetchFunctions.Core.Discovery;

namespace FetchFunctions.Core.Tests.Discovery;

public sealed class DiscoverySummaryTests
{
    private static RoundStats Round(int depth, int planned, long links, long duplicates = 0, long nofollow = 0, long overMaxPages = 0) => new()
    {
        Depth = depth, Planned = planned, PlannedInJob = 0, PagesRead = 1, LinksFound = links, OutOfScope = 1, Excluded = 0, Duplicates = duplicates,
        Nofollow = nofollow, TooDeep = 0, OverMaxPages = overMaxPages, Unusable = 0,
    };

    [Fact]
    public void From_RoundsWithASitemapRound_CountsPagesByDepthAndSitemapUrlsApart()
    {
        var summary = DiscoverySummary.From(3, [Round(0, 2, 10, duplicates: 1), Round(1, 5, 40, duplicates: 7, nofollow: 2), Round(2, 1, 9, overMaxPages: 4)]);

        Assert.Equal([5L, 5L, 1L], summary.PagesByDepth);
        Assert.Equal((49L, 3L, 8L, 2L, 4L, 2L), (summary.LinksFound, summary.OutOfScope, summary.Duplicates, summary.Nofollow, summary.OverMaxPages, summary.SitemapUrls));
    }

    [Fact]
    public void From_NoRounds_IsTheSeedsOnly()
    {
        var summary = DiscoverySummary.From(4, []);

        Assert.Equal([4L], summary.PagesByDepth);
        Assert.Equal(0, summary.LinksFound);
    }
}
