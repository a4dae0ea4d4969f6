using System.ComponentModel.DataAnnotations;

namespace FetchFunctions.Core.Telemetry;

/// <summary>What spans and metrics may carry, bound from the <c>Telemetry</c> configuration section.</summary>
internal sealed class CrawlTelemetryOptions
{
    public const string SectionName = "Telemetry";

    /// <summary>Whether fetch spans carry <c>url.full</c> (scheme, host, port and path; never the query string or the
    /// fragment, which often hold tokens). Default false: spans name only the host and port.</summary>
    public bool RecordFullUrl { get; set; }

    /// <summary>Distinct hosts named in metric attributes per process; later hosts are counted under
    /// <see cref="HostLabelCap.Other"/>, so a crawl of a million hosts cannot blow up the metric store. Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxHostLabels { get; set; } = 100;
}
