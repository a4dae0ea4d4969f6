using FetchFunctions.Core.Validation;
using System.ComponentModel.DataAnnotations;

namespace FetchFunctions.Core.Storage;

/// <summary>Where crawl data lives, bound from the <c>Storage</c> configuration section.</summary>
internal sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Blob container for jobs, bodies, manifests and summaries. Default "crawls".</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "ContainerName must be a valid blob container name.")]
    public string ContainerName { get; set; } = "crawls";

    /// <summary>Queue the intake writes job tickets to. Default "crawl-intake".</summary>
    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "IntakeQueueName must be a valid queue name.")]
    public string IntakeQueueName { get; set; } = "crawl-intake";

    /// <summary>How long one storage operation is retried (exponential backoff from 0.2 s, doubling up to 5 s, with
    /// jitter) before it fails, once storage has answered this process at least once. Default 1 minute: a restart or
    /// a brief outage of storage is ridden out instead of failing the run. Before the first answer a client makes only
    /// <see cref="StorageRetryPolicy.FirstContactTries"/> quick tries, so a wrong connection string or a stopped
    /// emulator is reported in seconds.</summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromMinutes(1);
}
