using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class UrlFingerprintSetTests
{
    private static UrlFingerprintSet CreateSut(int expected = 0) => new(expected);

    private static UInt128 Print(int i) => CrawlJobValidator.Fingerprint($"https://h{i % 97}.example/{i}");

    [Fact]
    public void Add_ThroughManyGrowths_FindsEveryEarlierFingerprintAgain()
    {
        var sut = CreateSut();

        var firstTime = Enumerable.Range(0, 50_000).Count(i => sut.Add(Print(i)));
        var again = Enumerable.Range(0, 50_000).Count(i => sut.Add(Print(i)));

        Assert.Equal((50_000, 0, 50_000), (firstTime, again, sut.Count));
    }

    [Fact]
    public void Add_FingerprintsSharingLowBits_AreKeptApart()
    {
        // Same low 64 bits (the slot), different high bits: probing must compare whole fingerprints.
        var sut = CreateSut();
        var prints = Enumerable.Range(1, 100).Select(i => new UInt128((ulong)i, 42)).ToList();

        Assert.All(prints, p => Assert.True(sut.Add(p)));
        Assert.All(prints, p => Assert.False(sut.Add(p)));
        Assert.Equal(100, sut.Count);
    }

    [Fact]
    public void Add_ZeroFingerprint_IsAMemberLikeAnyOther()
    {
        var sut = CreateSut();

        Assert.True(sut.Add(UInt128.Zero));
        Assert.False(sut.Add(UInt128.Zero));
        Assert.True(sut.Add(UInt128.One));
        Assert.Equal(2, sut.Count);
    }

    [Fact]
    public void Add_PresizedForExpected_HoldsThemAll()
    {
        var sut = CreateSut(expected: 1000);

        Assert.Equal(1000, Enumerable.Range(0, 1000).Count(i => sut.Add(Print(i))));
        Assert.False(sut.Add(Print(999)));
    }

    [Fact]
    public void Clear_AfterGrowth_ForgetsEverythingAndAddsAgain()
    {
        var sut = CreateSut();
        Assert.Equal(5000, Enumerable.Range(0, 5000).Count(i => sut.Add(Print(i))));
        Assert.True(sut.Add(UInt128.Zero));

        sut.Clear();

        Assert.Equal(0, sut.Count);
        Assert.Equal(5000, Enumerable.Range(0, 5000).Count(i => sut.Add(Print(i))));
        Assert.True(sut.Add(UInt128.Zero));
    }
}
