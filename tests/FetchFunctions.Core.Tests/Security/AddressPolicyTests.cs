using System.Net;
using FetchFunctions.Core.Security;

namespace FetchFunctions.Core.Tests.Security;

// Decision-function tests only: none of these addresses is ever connected to.
public sealed class AddressPolicyTests
{
    private static AddressPolicy CreateSut(params string[] allowed) => new(allowed.Select(IPNetwork.Parse).ToArray());

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.255.254", "loopback")]
    [InlineData("10.1.2.3", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("100.64.0.1", "carrier-grade NAT")]
    [InlineData("100.127.255.255", "carrier-grade NAT")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("168.63.129.16", "Azure platform")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("239.255.255.250", "multicast")]
    [InlineData("255.255.255.255", "reserved")]
    [InlineData("192.0.2.10", "documentation")]
    [InlineData("198.18.0.1", "benchmarking")]
    [InlineData("::1", "loopback")]
    [InlineData("::", "unspecified")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("fc00::1", "unique local")]
    [InlineData("fd00:ec2::254", "unique local")]
    [InlineData("fec0::1", "site-local")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("2001:db8::1", "documentation")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("::ffff:10.0.0.1", "private")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("64:ff9b::a9fe:a9fe", "link-local")]
    [InlineData("64:ff9b::7f00:1", "loopback")]
    [InlineData("64:ff9b:1::1", "local-use NAT64")]
    [InlineData("2002:a00:1::", "private")]
    [InlineData("::7f00:1", "loopback")]
    public void GetBlockReason_SpecialAddress_IsBlockedWithReason(string address, string reason)
    {
        var sut = CreateSut();

        var actual = sut.GetBlockReason(IPAddress.Parse(address));

        Assert.NotNull(actual);
        Assert.Contains(reason, actual, StringComparison.Ordinal);
        Assert.False(sut.IsAllowed(IPAddress.Parse(address)));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("93.184.216.34")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("169.253.255.255")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::")]
    public void GetBlockReason_PublicAddress_IsAllowed(string address)
    {
        var sut = CreateSut();

        Assert.Null(sut.GetBlockReason(IPAddress.Parse(address)));
    }

    [Fact]
    public void GetBlockReason_AllowListedRange_OpensOnlyThatRange()
    {
        var sut = CreateSut("127.0.0.0/8", "::1/128");

        Assert.True(sut.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(sut.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(sut.IsAllowed(IPAddress.Parse("::1")));
        Assert.False(sut.IsAllowed(IPAddress.Parse("10.0.0.1")));
        Assert.False(sut.IsAllowed(IPAddress.Parse("169.254.169.254")));
        Assert.False(sut.IsAllowed(IPAddress.Parse("fe80::1")));
    }

    [Fact]
    public void GetBlockReason_AllowListedV4_OpensItsNat64Form()
    {
        var sut = CreateSut("10.0.0.0/8");

        Assert.True(sut.IsAllowed(IPAddress.Parse("64:ff9b::a00:1")));
        Assert.False(sut.IsAllowed(IPAddress.Parse("64:ff9b::7f00:1")));
    }
}
