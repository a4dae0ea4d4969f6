using System.Net;
using System.Net.Sockets;

namespace FetchFunctions.Core.Security;

/// <summary>Decides whether the fetcher may connect to an address: public unicast only, unless an
/// explicitly allowed network contains it. Checked at connect time, so DNS answers and every redirect hop are covered.</summary>
internal sealed class AddressPolicy
{
    // IPv4 ranges that are never a public web server.
    private static readonly (IPNetwork Network, string Reason)[] BlockedV4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "unspecified/this-network"),
        (IPNetwork.Parse("10.0.0.0/8"), "private"),
        (IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local (cloud metadata)"),
        (IPNetwork.Parse("172.16.0.0/12"), "private"),
        (IPNetwork.Parse("192.0.0.0/24"), "IETF protocol assignments"),
        (IPNetwork.Parse("192.0.2.0/24"), "documentation"),
        (IPNetwork.Parse("192.88.99.0/24"), "6to4 relay anycast"),
        (IPNetwork.Parse("192.168.0.0/16"), "private"),
        (IPNetwork.Parse("198.18.0.0/15"), "benchmarking"),
        (IPNetwork.Parse("198.51.100.0/24"), "documentation"),
        (IPNetwork.Parse("203.0.113.0/24"), "documentation"),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved/broadcast"),
        (IPNetwork.Parse("168.63.129.16/32"), "Azure platform (wireserver)"),
    ];

    private static readonly (IPNetwork Network, string Reason)[] BlockedV6 =
    [
        (IPNetwork.Parse("::/128"), "unspecified"),
        (IPNetwork.Parse("::1/128"), "loopback"),
        (IPNetwork.Parse("100::/64"), "discard-only"),
        (IPNetwork.Parse("2001::/32"), "Teredo"),
        (IPNetwork.Parse("2001:db8::/32"), "documentation"),
        (IPNetwork.Parse("fc00::/7"), "unique local"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fec0::/10"), "site-local"),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
    ];

    private static readonly IPNetwork Nat64WellKnown = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork Nat64Local = IPNetwork.Parse("64:ff9b:1::/48");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork V4Compatible = IPNetwork.Parse("::/96");

    private readonly IReadOnlyList<IPNetwork> _allowed;

    public AddressPolicy(IReadOnlyList<IPNetwork> allowedNetworks)
    {
        ArgumentNullException.ThrowIfNull(allowedNetworks);
        _allowed = allowedNetworks;
    }

    /// <summary>The default policy: nothing special is allowed.</summary>
    public static AddressPolicy Default { get; } = new([]);

    public IReadOnlyList<IPNetwork> AllowedNetworks => _allowed;

    /// <summary>Null when the address may be connected to; otherwise why not.</summary>
    public string? GetBlockReason(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (_allowed.Any(n => n.Contains(address)))
        {
            return null;
        }

        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork => ReasonV4(address),
            AddressFamily.InterNetworkV6 => ReasonV6(address),
            _ => "not an IP address",
        };
    }

    public bool IsAllowed(IPAddress address) => GetBlockReason(address) is null;

    private string? ReasonV6(IPAddress address)
    {
        foreach (var (network, reason) in BlockedV6)
        {
            if (network.Contains(address))
            {
                return reason;
            }
        }

        // Forms that embed an IPv4 address are judged by that address.
        var bytes = address.GetAddressBytes();
        if (Nat64WellKnown.Contains(address) || V4Compatible.Contains(address))
        {
            return Embedded(new IPAddress(bytes.AsSpan(12, 4)), address);
        }

        if (Nat64Local.Contains(address))
        {
            return "local-use NAT64";
        }

        if (SixToFour.Contains(address))
        {
            return Embedded(new IPAddress(bytes.AsSpan(2, 4)), address);
        }

        return null;
    }

    private string? Embedded(IPAddress v4, IPAddress original)
    {
        if (_allowed.Any(n => n.Contains(v4)))
        {
            return null;
        }

        var reason = ReasonV4(v4);
        return reason is null ? null : $"{reason} (embedded in {original})";
    }

    private static string? ReasonV4(IPAddress address)
    {
        foreach (var (network, reason) in BlockedV4)
        {
            if (network.Contains(address))
            {
                return reason;
            }
        }

        return null;
    }
}
