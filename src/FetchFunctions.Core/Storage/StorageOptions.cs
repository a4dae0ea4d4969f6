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
}
