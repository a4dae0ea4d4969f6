using System.Net;
using FetchFunctions.Core.Security;

namespace FetchFunctions.Core.Fetching;

/// <summary>The effective settings of one fetch: the operator's <see cref="FetchOptions"/>, tightened by the job.</summary>
internal sealed record FetchPolicy
{
    public required int MaxRetries { get; init; }
    public required TimeSpan AttemptTimeout { get; init; }
    public required TimeSpan TotalTimeout { get; init; }
    public required TimeSpan FetchDeadline { get; init; }
    public required TimeSpan BodyIdleTimeout { get; init; }
    public required int MaxBodyRetries { get; init; }
    public required long MaxBodyBytes { get; init; }
    public required int MaxRedirects { get; init; }
    public required string UserAgent { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public required StatusSet StoreStatuses { get; init; }
    public required AddressPolicy AddressPolicy { get; init; }

    /// <summary>The operator's defaults. Options are validated at start-up, so parsing cannot fail here.</summary>
    public static FetchPolicy FromOptions(FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FetchPolicy
        {
            MaxRetries = options.MaxRetries,
            AttemptTimeout = options.AttemptTimeout,
            TotalTimeout = options.TotalTimeout,
            FetchDeadline = options.FetchDeadline,
            BodyIdleTimeout = options.BodyIdleTimeout,
            MaxBodyRetries = options.MaxBodyRetries,
            MaxBodyBytes = options.MaxBodyBytes,
            MaxRedirects = options.MaxRedirects,
            UserAgent = options.UserAgent,
            StoreStatuses = StatusSet.Parse(options.EffectiveStoreStatuses),
            AddressPolicy = new AddressPolicy(options.AllowedNetworks.Select(IPNetwork.Parse).ToArray()),
        };
    }
}
