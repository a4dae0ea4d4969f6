using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace FetchFunctions.Http;

/// <summary>The multi-output result of <c>POST /api/crawls</c>: the HTTP response and, for an accepted job only,
/// the intake message (the worker writes no output binding whose value is null).</summary>
public sealed class SubmitCrawlOutput
{
    [QueueOutput(IntakeQueue.Name, Connection = IntakeQueue.Connection)]
    public string? IntakeMessage { get; init; }

    [HttpResult]
    public required IActionResult HttpResponse { get; init; }

    internal static SubmitCrawlOutput Rejected(IActionResult response) => new() { HttpResponse = response };
}
