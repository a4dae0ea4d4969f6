using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Orchestration;
using FetchFunctions.Core.Summary;
using FetchFunctions.Core.Warc;
using FetchFunctions.Orchestration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Extensions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Http;

/// <summary>The HTTP API: submit a crawl job, read its status, cancel it, read a stored page back. Validation, storage and every other
/// decision are Core's; these functions translate between HTTP and Core/Durable types.</summary>
public sealed class CrawlHttpFunctions
{
    private const string CrawlsRoute = "crawls";
    private const string CrawlRoute = "crawls/{id}";
    private const string PagesRoute = "crawls/{id}/pages";

    private readonly ICrawlIntake _intake;
    private readonly IStoredPages _pages;
    private readonly ILogger<CrawlHttpFunctions> _logger;

    public CrawlHttpFunctions(ICrawlIntake intake, IStoredPages pages, ILogger<CrawlHttpFunctions> logger)
    {
        ArgumentNullException.ThrowIfNull(intake);
        ArgumentNullException.ThrowIfNull(pages);
        ArgumentNullException.ThrowIfNull(logger);
        _intake = intake;
        _pages = pages;
        _logger = logger;
    }

    /// <summary><c>POST /api/crawls</c>: 202 with the job id and status URL, the ticket on the intake queue; 400 with
    /// every problem otherwise (or for a body that is empty or not JSON); 413 for a body over Crawl:MaxRequestBodyBytes; 409 when the job id names a run that is active or completed (its stored job is not
    /// replaced). A job id whose last run failed or was cancelled is stored again and runs again.</summary>
    [Function(nameof(SubmitCrawl))]
    public async Task<SubmitCrawlOutput> SubmitCrawl(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = CrawlsRoute)] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);

        // Core reads at most Crawl:MaxRequestBodyBytes; a longer body is refused, a declared one without being read.
        var read = await _intake.ReadRequestAsync(request.Body, request.ContentLength, cancellationToken);
        if (read.Job is not { } job)
        {
            var problem = read.Problem ?? CrawlRequestProblem.Malformed;
            _logger.UnreadableBody(problem);
            return SubmitCrawlOutput.Rejected(ProblemResults.Unreadable(problem, read.Detail ?? string.Empty));
        }

        if (job.JobId is { } jobId
            && await client.FindJobAsync(jobId, getInputsAndOutputs: false, cancellationToken) is { } prior
            && !JobRuns.StartsNewRun(DurableRuns.PriorRunOf(prior)))
        {
            return SubmitCrawlOutput.Rejected(ProblemResults.Conflict(jobId, DurableRuns.StatusName(prior), CrawlUrl(request, jobId)));
        }

        // Core logs the acceptance or the rejection.
        var result = await _intake.SubmitAsync(job, cancellationToken);
        if (result.Ticket is not { } ticket)
        {
            return SubmitCrawlOutput.Rejected(ProblemResults.Invalid(result.Problems));
        }

        var statusUrl = CrawlUrl(request, ticket.JobId);
        return new SubmitCrawlOutput
        {
            IntakeMessage = ticket.ToMessage(),
            HttpResponse = new AcceptedResult(statusUrl, new CrawlAccepted(ticket.JobId, statusUrl, result.UrlCount, result.DuplicatesRemoved)),
        };
    }

    /// <summary><c>GET /api/crawls/{id}</c>: runtime status, progress, and the summary once completed; 404 when no
    /// orchestration exists for the id (yet: a just-accepted job starts within seconds).</summary>
    [Function(nameof(GetCrawl))]
    public async Task<IActionResult> GetCrawl(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = CrawlRoute)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);

        var metadata = await client.FindJobAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (metadata is null)
        {
            return ProblemResults.NotFound(id);
        }

        var summary = metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? metadata.ReadOutputAs<CrawlSummary>() : null;
        var failure = metadata.FailureDetails is { } details ? new CrawlFailure(details.ErrorType, details.ErrorMessage) : null;

        return new OkObjectResult(new CrawlStatus(
            id,
            DurableRuns.StatusName(metadata),
            metadata.CreatedAt,
            metadata.LastUpdatedAt,
            metadata.ReadCustomStatusAs<CrawlProgress>(),
            summary,
            failure));
    }

    /// <summary><c>DELETE /api/crawls/{id}</c>: terminates the job and its shard sub-orchestrations. Idempotent: a
    /// job that already ended is left as it is (202 again), an unknown id is 404.</summary>
    [Function(nameof(CancelCrawl))]
    public async Task<IActionResult> CancelCrawl(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = CrawlRoute)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);

        var metadata = await client.FindJobAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (metadata is null)
        {
            return ProblemResults.NotFound(id);
        }

        var runtimeStatus = DurableRuns.StatusName(metadata);
        var terminating = !metadata.IsCompleted;
        if (terminating)
        {
            const string Reason = "Cancelled on request.";
            await client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = Reason, Recursive = true }, cancellationToken);
            await client.TerminateShardsAsync(id, Reason, cancellationToken);
            _logger.CancelRequested(id, runtimeStatus);
        }

        var statusUrl = UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, request.Path);
        return new AcceptedResult(statusUrl, new CrawlCancellation(id, runtimeStatus, terminating, statusUrl));
    }

    /// <summary><c>GET /api/crawls/{id}/pages?url=...</c>: the stored body of that URL of the job, streamed with its stored
    /// Content-Type (and Content-Encoding, when the server's coding is still applied); 404 problem details when the job
    /// holds no stored body for it, 400 for a bad id or URL. Works while the job runs and after.</summary>
    [Function(nameof(GetCrawlPage))]
    public async Task<IActionResult> GetCrawlPage(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = PagesRoute)] HttpRequest request,
        string id,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lookup = await _pages.OpenAsync(id, request.Query["url"].ToString(), decode: false, cancellationToken);
        return lookup switch
        {
            { Page: { } page } => new StoredPageResult(page),
            { Outcome: StoredPageOutcome.NotStored } => ProblemResults.PageNotFound(lookup.Detail),
            _ => ProblemResults.BadPageRequest(lookup.Detail),
        };
    }

    /// <summary>The job's status URL, built from the request so the host's route prefix and forwarded host apply.</summary>
    private static string CrawlUrl(HttpRequest request, string jobId)
    {
        var crawls = request.Path.Value?.TrimEnd('/') ?? string.Empty;
        return UriHelper.BuildAbsolute(request.Scheme, request.Host, request.PathBase, new PathString($"{crawls}/{jobId}"));
    }
}
