using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Orchestration;

/// <summary>Run state from the job's blobs and a renewable lease on <c>{jobId}/run.lease</c>.</summary>
internal sealed partial class BlobJobRunStore(JobStore store, TimeProvider timeProvider, ILogger<BlobJobRunStore> logger) : IJobRunStore
{
    /// <summary>The shortest lease Blob storage grants: a killed run blocks its job id for at most this long.</summary>
    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

    /// <summary>Three renewals per period: one lost to a slow call still leaves the lease held.</summary>
    internal static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(5);

    /// <summary>How long releasing may take: storage that is gone (Ctrl+C also stops the CLI's own Azurite) must not
    /// hold up an exit for a whole retry budget, and an unreleased lease lapses by itself.</summary>
    internal static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(5);

    public TimeSpan LeasePeriod => Lease;

    private TimeProvider Time => timeProvider;

    private ILogger Logger => logger;

    public async Task<PriorRun> GetPriorRunAsync(string jobId, CancellationToken cancellationToken)
    {
        ThrowIfNotJobId(jobId);
        try
        {
            var lease = await store.Container.GetBlobClient(BlobNames.RunLease(jobId)).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (lease.Value.LeaseState == LeaseState.Leased)
            {
                return PriorRun.Active;
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No run outside Durable ever held it.
        }

        return await StoredRunAsync(jobId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IJobRunHold?> TryHoldAsync(string jobId, CancellationToken cancellationToken)
    {
        ThrowIfNotJobId(jobId);
        await store.EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var blob = store.Container.GetBlobClient(BlobNames.RunLease(jobId));
        try
        {
            await blob.UploadAsync(BinaryData.Empty, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // It exists (and may be leased): the lease decides.
        }

        var lease = blob.GetBlobLeaseClient();
        try
        {
            await lease.AcquireAsync(Lease, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return null;
        }

        var hold = new Hold(this, jobId, blob, lease);
        try
        {
            hold.PriorRun = await StoredRunAsync(jobId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await hold.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        hold.StartRenewing();
        return hold;
    }

    private async Task<PriorRun> StoredRunAsync(string jobId, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(BlobNames.Job(jobId), cancellationToken).ConfigureAwait(false))
        {
            return PriorRun.None;
        }

        return await ExistsAsync(BlobNames.Summary(jobId), cancellationToken).ConfigureAwait(false) ? PriorRun.Completed : PriorRun.Failed;
    }

    private async Task<bool> ExistsAsync(string blobName, CancellationToken cancellationToken) =>
        (await store.Container.GetBlobClient(blobName).ExistsAsync(cancellationToken).ConfigureAwait(false)).Value;

    private static void ThrowIfNotJobId(string jobId)
    {
        if (!CrawlJobValidator.IsValidJobId(jobId))
        {
            throw new ArgumentException($"'{jobId}' is not a valid job id.", nameof(jobId));
        }
    }

    private sealed class Hold(BlobJobRunStore owner, string jobId, BlobClient blob, BlobLeaseClient lease) : IJobRunHold
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _renewing = Task.CompletedTask;

        public PriorRun PriorRun { get; set; }

        public void StartRenewing() => _renewing = RenewAsync(_stop.Token);

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
            using var timeout = new CancellationTokenSource(ReleaseTimeout, owner.Time);
            try
            {
                if (await owner.ExistsAsync(BlobNames.Job(jobId), timeout.Token).ConfigureAwait(false))
                {
                    await lease.ReleaseAsync(cancellationToken: timeout.Token).ConfigureAwait(false);
                }
                else
                {
                    // Nothing was stored under the id (a refused or invalid job): leave no lease blob behind either.
                    await blob.DeleteIfExistsAsync(conditions: new BlobRequestConditions { LeaseId = lease.LeaseId }, cancellationToken: timeout.Token)
                        .ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is RequestFailedException || (ex is OperationCanceledException && timeout.IsCancellationRequested))
            {
                // Lost already (it lapsed during an outage, say) or storage is gone: the lease lapses by itself.
                LogReleaseFailed(owner.Logger, jobId, ex.Message);
            }
        }

        private async Task RenewAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(RenewEvery, owner.Time, cancellationToken).ConfigureAwait(false);
                    await lease.RenewAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is RequestFailedException or HttpRequestException or AggregateException)
                {
                    // Keep trying: the run goes on, and a later renewal may still find the lease ours.
                    LogRenewFailed(owner.Logger, jobId, ex.Message);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Crawl {JobId}: the run lease could not be renewed ({Reason})")]
    private static partial void LogRenewFailed(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Crawl {JobId}: the run lease could not be released ({Reason}); it lapses by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string jobId, string reason);
}
