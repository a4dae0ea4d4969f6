using Microsoft.Extensions.Options;

namespace FetchFunctions.Core.Fetching;

/// <summary>Cross-field rules of <see cref="FetchOptions"/> that attributes cannot express.</summary>
internal sealed class FetchOptionsValidator : IValidateOptions<FetchOptions>
{
    public ValidateOptionsResult Validate(string? name, FetchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.ConnectTimeout > options.AttemptTimeout)
        {
            failures.Add($"Fetch:ConnectTimeout ({options.ConnectTimeout}) must not exceed Fetch:AttemptTimeout ({options.AttemptTimeout}).");
        }

        if (options.AttemptTimeout >= options.TotalTimeout)
        {
            failures.Add($"Fetch:AttemptTimeout ({options.AttemptTimeout}) must be less than Fetch:TotalTimeout ({options.TotalTimeout}).");
        }

        if (options.TotalTimeout > options.FetchDeadline)
        {
            failures.Add($"Fetch:TotalTimeout ({options.TotalTimeout}) must not exceed Fetch:FetchDeadline ({options.FetchDeadline}).");
        }

        if (options.BodyIdleTimeout > options.FetchDeadline)
        {
            failures.Add($"Fetch:BodyIdleTimeout ({options.BodyIdleTimeout}) must not exceed Fetch:FetchDeadline ({options.FetchDeadline}).");
        }

        if (options.RetryBaseDelay > options.MaxRetryDelay)
        {
            failures.Add($"Fetch:RetryBaseDelay ({options.RetryBaseDelay}) must not exceed Fetch:MaxRetryDelay ({options.MaxRetryDelay}).");
        }

        if (options.SmallBodyBufferBytes >= options.UploadBlockBytes)
        {
            failures.Add($"Fetch:SmallBodyBufferBytes ({options.SmallBodyBufferBytes}) must be less than Fetch:UploadBlockBytes ({options.UploadBlockBytes}).");
        }

        if (!StatusSet.TryParse(options.StoreStatuses, out _, out var statusError))
        {
            failures.Add($"Fetch:StoreStatuses: {statusError}");
        }

        foreach (var network in options.AllowedNetworks)
        {
            if (!System.Net.IPNetwork.TryParse(network, out _))
            {
                failures.Add($"Fetch:AllowedNetworks: '{network}' is not a CIDR range such as 10.0.0.0/8.");
            }
        }

        if (options.UserAgent.Any(char.IsControl))
        {
            failures.Add("Fetch:UserAgent must not contain control characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
