using FetchFunctions.Core.Jobs;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace FetchFunctions.Http;

/// <summary>RFC 7807 problem details (application/problem+json) for the HTTP API.</summary>
internal static class ProblemResults
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>A body Core could not read as a job: 413 when it is too large, 400 when it is empty or not JSON.</summary>
    public static ObjectResult Unreadable(CrawlRequestProblem problem, string detail) => problem switch
    {
        CrawlRequestProblem.TooLarge => Create(StatusCodes.Status413PayloadTooLarge, "The request body is too large.", detail, problems: null),
        CrawlRequestProblem.Empty => Create(StatusCodes.Status400BadRequest, "The request body is empty.", detail, problems: null),
        _ => Create(StatusCodes.Status400BadRequest, "The request body is not valid JSON.", detail, problems: null),
    };

    /// <summary>Every problem Core found, each with its path, offending value and reason, in a <c>problems</c> extension.</summary>
    public static ObjectResult Invalid(IReadOnlyList<ValidationProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return Create(
            StatusCodes.Status400BadRequest,
            "The crawl job is invalid.",
            $"{problems.Count} problem(s) found; nothing was started.",
            problems);
    }

    public static ObjectResult NotFound(string jobId) =>
        Create(StatusCodes.Status404NotFound, "No such crawl job.", $"No orchestration exists for job '{jobId}'.", problems: null);

    public static ObjectResult PageNotFound(string detail) =>
        Create(StatusCodes.Status404NotFound, "No stored page.", detail, problems: null);

    public static ObjectResult BadPageRequest(string detail) =>
        Create(StatusCodes.Status400BadRequest, "The page request is invalid.", detail, problems: null);

    public static ObjectResult Conflict(string jobId, string runtimeStatus, string statusUrl) =>
        Create(StatusCodes.Status409Conflict, "The job id is taken.",
            $"Job '{jobId}' has a run that is {runtimeStatus}, which is not replaced (see {statusUrl}). Submit under a new id; a run in progress can be cancelled first with DELETE.",
            problems: null);

    private static ObjectResult Create(int status, string title, string detail, IReadOnlyList<ValidationProblem>? problems)
    {
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (problems is not null)
        {
            problem.Extensions["problems"] = problems;
        }

        var result = new ObjectResult(problem) { StatusCode = status };
        result.ContentTypes.Add(ProblemJson);
        return result;
    }
}
