namespace FetchFunctions.Core.Telemetry;

/// <summary>Where a host sends its spans and metrics, read from the standard settings: Azure Monitor when
/// <see cref="AzureMonitorConnectionStringName"/> is set, OTLP when <see cref="OtlpEndpointName"/> is (or the host's own
/// option), both when both are, nothing when neither. Decided here once for the Functions app and the CLI.</summary>
/// <param name="AzureMonitorConnectionString">Application Insights' connection string; null for no Azure Monitor export.</param>
/// <param name="AzureMonitorIdentity">How the exporter authenticates: null for the connection string's key (local
/// auth), otherwise Entra ID through this managed identity.</param>
/// <param name="Otlp">The OTLP endpoints; null for no OTLP export.</param>
public sealed record TelemetryExport(string? AzureMonitorConnectionString, ManagedIdentity? AzureMonitorIdentity, OtlpTarget? Otlp)
{
    public const string AzureMonitorConnectionStringName = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>The Functions host's own setting for Entra ID ingestion: <c>Authorization=AAD;ClientId=...</c>.</summary>
    public const string AzureMonitorAuthenticationName = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    public const string OtlpEndpointName = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary><c>http/protobuf</c> (the default, as the OpenTelemetry specification has it) or <c>grpc</c>.</summary>
    public const string OtlpProtocolName = "OTEL_EXPORTER_OTLP_PROTOCOL";

    public static TelemetryExport None { get; } = new(null, null, null);

    public bool Any => AzureMonitorConnectionString is not null || Otlp is not null;

    /// <summary>Reads the settings (by their environment-variable names). <paramref name="otlpEndpoint"/>, when given,
    /// takes the place of <see cref="OtlpEndpointName"/>. Throws <see cref="FormatException"/> naming the setting when a
    /// value is unusable.</summary>
    public static TelemetryExport Read(Func<string, string?> setting, string? otlpEndpoint = null)
    {
        ArgumentNullException.ThrowIfNull(setting);
        var connectionString = NullIfEmpty(setting(AzureMonitorConnectionStringName));
        var identity = connectionString is null ? null : IdentityFor(setting);
        return new TelemetryExport(connectionString, identity, ReadOtlp(setting, otlpEndpoint));
    }

    /// <summary>The OTLP part of <see cref="Read"/> alone (the CLI exports nothing else): <paramref name="otlpEndpoint"/>,
    /// else <see cref="OtlpEndpointName"/>, with <see cref="OtlpProtocolName"/>; null when neither is set.</summary>
    public static OtlpTarget? ReadOtlp(Func<string, string?> setting, string? otlpEndpoint = null)
    {
        ArgumentNullException.ThrowIfNull(setting);
        var endpoint = NullIfEmpty(otlpEndpoint) ?? NullIfEmpty(setting(OtlpEndpointName));
        return endpoint is null ? null : OtlpTarget.For(endpoint, NullIfEmpty(setting(OtlpProtocolName)));
    }

    /// <summary>Entra ID when the host's authentication string says AAD (its ClientId, else the storage identity's, else
    /// system-assigned), or when storage itself goes through a managed identity; otherwise the connection string's key.</summary>
    private static ManagedIdentity? IdentityFor(Func<string, string?> setting)
    {
        var storageClientId = NullIfEmpty(setting("AzureWebJobsStorage__clientId"));
        var authentication = NullIfEmpty(setting(AzureMonitorAuthenticationName));
        if (authentication is not null)
        {
            var parts = authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(part => part.Split('=', 2, StringSplitOptions.TrimEntries))
                .Where(pair => pair.Length == 2)
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.OrdinalIgnoreCase);
            if (!string.Equals(parts.GetValueOrDefault("Authorization"), "AAD", StringComparison.OrdinalIgnoreCase))
            {
                throw new FormatException($"{AzureMonitorAuthenticationName} must be 'Authorization=AAD' with an optional ';ClientId=...'.");
            }

            return new ManagedIdentity(NullIfEmpty(parts.GetValueOrDefault("ClientId")) ?? storageClientId);
        }

        return string.Equals(setting("AzureWebJobsStorage__credential"), "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentity(storageClientId)
            : null;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>A managed identity: user-assigned with <paramref name="ClientId"/>, system-assigned when it is null.</summary>
public sealed record ManagedIdentity(string? ClientId);

/// <summary>OTLP endpoints per signal. Over <c>http/protobuf</c> the signal's path (<c>v1/traces</c>, <c>v1/metrics</c>)
/// is appended to the base endpoint, as the OpenTelemetry specification says for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>;
/// over gRPC both signals use the endpoint itself.</summary>
public sealed record OtlpTarget(Uri TracesEndpoint, Uri MetricsEndpoint, bool Grpc)
{
    public static OtlpTarget For(string endpoint, string? protocol)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new FormatException($"The OTLP endpoint '{endpoint}' ({TelemetryExport.OtlpEndpointName} or --otlp-endpoint) must be an absolute http or https URL without credentials or query.");
        }

        switch (protocol?.ToLowerInvariant())
        {
            case null or "http/protobuf":
                var basePath = uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
                return new OtlpTarget(new Uri(basePath, "v1/traces"), new Uri(basePath, "v1/metrics"), Grpc: false);
            case "grpc":
                return new OtlpTarget(uri, uri, Grpc: true);
            default:
                throw new FormatException($"{TelemetryExport.OtlpProtocolName} '{protocol}' is not supported: use http/protobuf or grpc.");
        }
    }
}
