namespace FetchFunctions.Core.Jobs;

/// <summary>What a link must be in to be followed: the seed's host, the seed's URL up to its last '/', or a list of hosts.</summary>
internal enum ScopeKind
{
    Host,
    Prefix,
    Hosts,
}

/// <summary>A job's effective link discovery settings (its <c>crawl</c> section within the operator's limits).</summary>
internal sealed record DiscoverySettings
{
    /// <summary>Links followed from a seed; 0 fetches the seeds only.</summary>
    public required int MaxDepth { get; init; }

    /// <summary>Pages the job fetches at most, seeds included.</summary>
    public required int MaxPages { get; init; }

    public required ScopeKind Scope { get; init; }

    /// <summary>With <see cref="ScopeKind.Hosts"/>: lowercase ASCII host names, <c>*.</c> in front for every subdomain.</summary>
    public IReadOnlyList<string> ScopeHosts { get; init; } = [];

    public IReadOnlyList<string> Include { get; init; } = [];
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public required bool FollowSitemaps { get; init; }
    public required bool RespectNofollow { get; init; }
}
