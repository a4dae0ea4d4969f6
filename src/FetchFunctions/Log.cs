using FetchFunctions.Core.Jobs;
using Microsoft.Extensions.Logging;

namespace FetchFunctions;

/// <summary>The app's log messages (source-generated). Job ids and counts only: no URLs, bodies or secrets.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Crawl request body refused: {Problem}")]
    public static partial void UnreadableBody(this ILogger logger, CrawlRequestProblem problem);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Crawl job {JobId} cancel requested (status {RuntimeStatus})")]
    public static partial void CancelRequested(this ILogger logger, string jobId, string runtimeStatus);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Crawl job {JobId} orchestration scheduled")]
    public static partial void OrchestrationScheduled(this ILogger logger, string jobId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Crawl job {JobId} has a run that is {RuntimeStatus}; duplicate intake message ignored")]
    public static partial void DuplicateIntake(this ILogger logger, string jobId, string runtimeStatus);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Intake message of {Length} characters is not a job ticket; it goes to the poison queue after maxDequeueCount attempts")]
    public static partial void BadIntakeMessage(this ILogger logger, int length);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Crawl job {JobId} orchestration started")]
    public static partial void JobOrchestrationStarted(this ILogger logger, string jobId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Crawl job {JobId} shard {ShardIndex} orchestration started: {BatchCount} batches from batch {FirstBatch}")]
    public static partial void ShardOrchestrationStarted(this ILogger logger, string jobId, int shardIndex, int batchCount, int firstBatch);
}
