namespace FetchFunctions.Core.Jobs;

/// <summary>The one rule for request headers whose values are credentials: they are sent and kept in the job's
/// <c>job.json</c> (the batch needs them), and never written to logs, status answers, summaries, results or problems.</summary>
public static class SensitiveHeaders
{
    /// <summary>What is shown instead of a sensitive value.</summary>
    public const string Redacted = "(redacted)";

    private static readonly HashSet<string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key",
    };

    private static readonly string[] NameParts = ["token", "secret", "key", "password", "auth", "session", "credential"];

    /// <summary>Whether a header's value must not be shown: a known credential header, or a name containing token,
    /// secret, key, password, auth, session or credential (X-Auth-Token, Api-Key, X-Session-Id, ...).</summary>
    public static bool IsSensitive(string? name) =>
        name is not null && (Names.Contains(name) || NameParts.Any(part => name.Contains(part, StringComparison.OrdinalIgnoreCase)));

    /// <summary>The value as it may be shown: itself, or <see cref="Redacted"/> for a sensitive header.</summary>
    public static string? Shown(string? name, string? value) => value is not null && IsSensitive(name) ? Redacted : value;
}
