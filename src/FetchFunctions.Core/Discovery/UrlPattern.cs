namespace FetchFunctions.Core.Discovery;

/// <summary>A job's include/exclude URL patterns: globs over the whole normalised URL where <c>*</c> matches any run of
/// characters (slashes included) and everything else matches itself, case-sensitively. Globs rather than regular
/// expressions: a user's pattern cannot backtrack catastrophically (matching is at most pattern × URL steps, both
/// bounded by validation), no timeout is needed, and '?' and '.', common in URLs, mean themselves.</summary>
internal static class UrlPattern
{
    public static bool Matches(string pattern, string url)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(url);
        int p = 0, u = 0, star = -1, resume = 0;
        while (u < url.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = u;
            }
            else if (p < pattern.Length && pattern[p] == url[u])
            {
                p++;
                u++;
            }
            else if (star >= 0)
            {
                // Let the last star take one more character and try again from there.
                p = star + 1;
                u = ++resume;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    public static bool MatchesAny(IReadOnlyList<string> patterns, string url)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        for (var i = 0; i < patterns.Count; i++)
        {
            if (Matches(patterns[i], url))
            {
                return true;
            }
        }

        return false;
    }
}
