using System.Text.Json;
using System.Text.Json.Serialization;

namespace FetchFunctions.Core.Robots;

/// <summary>What robots.txt said for an origin, as RFC 9309 2.3.1 classifies the fetch.</summary>
internal enum RobotsOutcome
{
    /// <summary>2xx: its rules apply.</summary>
    Parsed,

    /// <summary>4xx, or more than five redirects: no restrictions.</summary>
    Unavailable,

    /// <summary>5xx, 429 or no answer (after the engine's retries): everything is disallowed for the job.</summary>
    Unreachable,

    /// <summary>The origin's own address is blocked by the fetch policy: its URLs go to the engine, which blocks them too.</summary>
    Blocked,

    /// <summary>Crawl:RespectRobotsTxt was off when the origin was first seen.</summary>
    NotRead,
}

/// <summary>The back-off state of an origin (see <see cref="HostThrottle"/>): the concurrency it may have (null: the
/// job's own limit) and the least time between two request starts.</summary>
internal sealed record HostBackoff(int? Concurrency, TimeSpan Delay)
{
    public static HostBackoff None { get; } = new(null, TimeSpan.Zero);
}

/// <summary>One origin of a job, <c>{jobId}/hosts/{sha256 of the origin}.json</c>: written once when the origin is first
/// seen, so every batch and every retry of the job obeys the same robots.txt; the back-off part is updated at the end
/// of a batch that changed it.</summary>
internal sealed record HostRecord(
    string Origin,
    RobotsOutcome Robots,
    int? RobotsStatus,
    string? RobotsReason,
    IReadOnlyList<RobotsRule> Rules,
    TimeSpan? CrawlDelay,
    HostBackoff Backoff)
{
    /// <summary>The robots.txt's <c>Sitemap:</c> lines (null when none), where a job following sitemaps looks first.</summary>
    public IReadOnlyList<string>? Sitemaps { get; init; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HostRecord))]
internal sealed partial class RobotsJsonContext : JsonSerializerContext;
