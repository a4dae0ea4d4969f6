using FetchFunctions.Core.Telemetry;

namespace FetchFunctions.Core.Tests.Telemetry;

public sealed class HostLabelCapTests
{
    private static HostLabelCap CreateSut(int max) => new(max);

    [Fact]
    public void Label_MoreHostsThanTheCap_FirstHostsKeepTheirNameTheRestAreOther()
    {
        var sut = CreateSut(2);

        Assert.Equal("a.example", sut.Label("a.example"));
        Assert.Equal("b.example", sut.Label("b.example"));
        Assert.Equal(HostLabelCap.Other, sut.Label("c.example"));
        Assert.Equal(HostLabelCap.Other, sut.Label("d.example"));
    }

    [Fact]
    public void Label_NamedHostSeenAgainAfterTheCap_KeepsItsName()
    {
        var sut = CreateSut(1);
        sut.Label("a.example");
        sut.Label("b.example");

        Assert.Equal("a.example", sut.Label("a.example"));
        Assert.Equal("A.EXAMPLE", sut.Label("A.EXAMPLE"));
        Assert.Equal(HostLabelCap.Other, sut.Label("b.example"));
    }

    [Fact]
    public void Label_ManyThreadsManyHosts_NamesExactlyTheCap()
    {
        var sut = CreateSut(50);

        var labels = Enumerable.Range(0, 2000).AsParallel().Select(i => sut.Label($"h{i}.example")).ToList();

        Assert.Equal(50, labels.Count(l => l != HostLabelCap.Other));
        Assert.Equal(1950, labels.Count(l => l == HostLabelCap.Other));
    }
}
