using FetchFunctions.Core.Validation;
using System.ComponentModel.DataAnnotations;

namespace FetchFunctions.Core.Fetching;

/// <summary>The operator's fetch settings, bound from the <c>Fetch</c> configuration section and validated at start-up.
/// They are defaults and upper bounds: a job may tighten them, never loosen them.</summary>
internal sealed class FetchOptions
{
    public const string SectionName = "Fetch";

    /// <summary>Connections kept per server (scheme, host, port). Default 16.</summary>
    [Range(1, 1024)]
    public int MaxConnectionsPerServer { get; set; } = 16;

    /// <summary>How long a pooled connection lives before it is replaced, so DNS changes are picked up. Default 5 minutes.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Idle time after which a pooled connection is closed. Default 1 minute.</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Time to connect to one of a host's addresses before the next is tried. Default 10 seconds; at most the
    /// attempt timeout, which bounds name resolution, connecting and TLS together.</summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time for one HTTP attempt to produce response headers. Default 10 seconds; less than <see cref="TotalTimeout"/>.</summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time for response headers across all retries of one hop. Default 60 seconds; at most <see cref="FetchDeadline"/>.</summary>
    [TimeSpanRange("00:00:00.200", "00:30:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time for the whole fetch of one URL: redirects, retries and the body. Default 2 minutes.</summary>
    [TimeSpanRange("00:00:00.500", "01:00:00")]
    public TimeSpan FetchDeadline { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Longest wait for the next body bytes. Default 30 seconds; at most <see cref="FetchDeadline"/>.</summary>
    [TimeSpanRange("00:00:00.100", "00:30:00")]
    public TimeSpan BodyIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries after the first attempt on 408, 429, 5xx and transient network errors. Default 3.</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>Base of the exponential backoff (with jitter). Default 500 ms.</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest single retry delay, Retry-After included. Default 30 seconds.</summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Times a body that fails in mid-transfer is fetched again. Default 2.</summary>
    [Range(0, 5)]
    public int MaxBodyRetries { get; set; } = 2;

    /// <summary>Share of failed attempts in <see cref="BreakerSamplingDuration"/> that opens a host's breaker. Default 0.5.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Attempts a host needs in the sampling window before its breaker may open. Default 20.</summary>
    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 20;

    /// <summary>Window over which a host's failure ratio is measured. Default 30 seconds.</summary>
    [TimeSpanRange("00:00:00.500", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an open breaker rejects a host. Default 15 seconds.</summary>
    [TimeSpanRange("00:00:00.500", "01:00:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Largest body stored; a larger one is stopped and reported too-large. Default 256 MiB.</summary>
    [Range(1L, 64L * 1024 * 1024 * 1024)]
    public long MaxBodyBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Redirect hops followed. Default 5.</summary>
    [Range(0, 20)]
    public int MaxRedirects { get; set; } = 5;

    /// <summary>User-Agent sent with every request.</summary>
    [Required]
    [MinLength(1)]
    public string UserAgent { get; set; } = "FetchFunctions/1.0";

    /// <summary>Statuses whose bodies are stored, as codes or ranges. Empty (the default) means 2xx only, "200-299".
    /// The default is not put in the list itself: configuration binding appends to a list, so a configured "404" would
    /// otherwise store 2xx and 404 instead of 404 alone.</summary>
    public List<string> StoreStatuses { get; set; } = [];

    /// <summary><see cref="StoreStatuses"/>, or 2xx when it is empty.</summary>
    internal IReadOnlyList<string> EffectiveStoreStatuses => StoreStatuses.Count > 0 ? StoreStatuses : DefaultStoreStatuses;

    private static readonly string[] DefaultStoreStatuses = ["200-299"];

    /// <summary>CIDR ranges the SSRF guard lets through although they are private or special. Empty by default.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>Bodies up to this size are buffered and uploaded in one request; larger ones stream in blocks. Default 256 KiB.</summary>
    [Range(0, 4 * 1024 * 1024)]
    public int SmallBodyBufferBytes { get; set; } = 256 * 1024;

    /// <summary>Block size for streamed uploads. Default 8 MiB: half the requests of 4 MiB blocks, which moved a 1 GiB
    /// body from about 0.8x to about 0.9x the rate of a bare SDK upload (benchmark part 3). A streaming fetch holds about
    /// (<see cref="UploadConcurrency"/> + 1) blocks, 24 MiB with the defaults.</summary>
    [Range(64 * 1024, 100 * 1024 * 1024)]
    public int UploadBlockBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Blocks of one body uploaded in parallel; memory per fetch is about this times the block size. Default 2.</summary>
    [Range(1, 16)]
    public int UploadConcurrency { get; set; } = 2;
}
