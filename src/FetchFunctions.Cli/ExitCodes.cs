namespace FetchFunctions.Cli;

/// <summary>The CLI's exit codes; each failure has its own so scripts can tell them apart.</summary>
internal static class ExitCodes
{
    /// <summary>The job ran (failed URLs are results, not crashes), or the command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The job ran, but more URLs failed than <c>--fail-above</c> allows.</summary>
    public const int FailureRateExceeded = 1;

    /// <summary>Bad input: a usage error, an unreadable job file, or a job that failed validation.</summary>
    public const int InvalidInput = 2;

    /// <summary>Storage or another piece of infrastructure failed.</summary>
    public const int InfrastructureFailure = 3;

    /// <summary><c>status</c>: no summary is stored for that job (yet); <c>get</c>: the job holds no stored body for that
    /// URL (not in the job, failed, or its status not stored); <c>export</c>: no such job.</summary>
    public const int NotFound = 4;

    /// <summary>Cancelled by the user (Ctrl+C), as shells report SIGINT.</summary>
    public const int Cancelled = 130;
}

/// <summary>Bad input found by the CLI itself (before Core validates the job).</summary>
internal sealed class CliInputException(string message) : Exception(message);
