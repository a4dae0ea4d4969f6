using System.Text.Json;
using System.Text.Json.Serialization;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;

namespace FetchFunctions.Core.Jobs;

/// <summary>Source-generated JSON for the blobs of a job: job.json, batch manifests, result lines, summary.json.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredJob))]
[JsonSerializable(typeof(ShardManifestHeader))]
[JsonSerializable(typeof(UrlResult))]
[JsonSerializable(typeof(CrawlSummary))]
internal sealed partial class CrawlJsonContext : JsonSerializerContext;
