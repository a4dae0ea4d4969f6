using System.Text.Json;
using System.Text.Json.Serialization;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core;

/// <summary>Source-generated JSON for everything Core writes to queues and blobs.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(JobTicket))]
internal sealed partial class CoreJsonContext : JsonSerializerContext;
