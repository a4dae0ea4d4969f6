using System.Globalization;
using System.Text;

namespace FetchFunctions.Core.Robots;

/// <summary>One allow or disallow line of the group that applies to our agent; <see cref="Pattern"/> is stored
/// percent-normalised (RFC 9309 2.2.2), as it is compared.</summary>
internal sealed record RobotsRule(bool Allow, string Pattern);

/// <summary>Whether a path may be fetched, and the rule that decided it (null when no rule matched).</summary>
internal readonly record struct RobotsDecision(bool Allowed, RobotsRule? Rule);

/// <summary>The rules of robots.txt for one agent (RFC 9309): the longest matching pattern decides, allow wins a tie,
/// no match allows, and <c>/robots.txt</c> itself is always allowed.</summary>
internal sealed class RobotsRules
{
    private readonly RobotsRule[] _rules;

    public RobotsRules(IEnumerable<RobotsRule> rules, TimeSpan? crawlDelay)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = [.. rules];
        CrawlDelay = crawlDelay;
    }

    public static RobotsRules AllowAll { get; } = new([], null);

    public IReadOnlyList<RobotsRule> Rules => _rules;

    /// <summary>The group's <c>Crawl-delay</c> (not part of RFC 9309, widely used), or null.</summary>
    public TimeSpan? CrawlDelay { get; }

    /// <summary>The file's <c>Sitemap:</c> lines (absolute http(s) URLs, at most <see cref="RobotsParser.MaxSitemaps"/>),
    /// whatever group they stand in: they belong to no group (RFC 9309 2.2.4).</summary>
    public IReadOnlyList<string> Sitemaps { get; init; } = [];

    /// <summary>Decides for a URL's path and query (<c>/a/b?c=d</c>).</summary>
    public RobotsDecision Decide(string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        var path = Normalise(pathAndQuery.Length == 0 ? "/" : pathAndQuery);
        if (path == "/robots.txt")
        {
            return new RobotsDecision(true, null);
        }

        RobotsRule? best = null;
        foreach (var rule in _rules)
        {
            if (!Matches(rule.Pattern, path))
            {
                continue;
            }

            if (best is null || rule.Pattern.Length > best.Pattern.Length || (rule.Pattern.Length == best.Pattern.Length && rule.Allow && !best.Allow))
            {
                best = rule;
            }
        }

        return new RobotsDecision(best?.Allow ?? true, best);
    }

    /// <summary>RFC 9309 2.2.2: octets outside US-ASCII are percent-encoded (UTF-8), an encoded unreserved character is
    /// decoded, and the hex digits of what stays encoded are upper case, so that equal paths compare equal.</summary>
    internal static string Normalise(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var needsWork = false;
        foreach (var c in value)
        {
            if (c is '%' or > '\x7e' or < '\x21')
            {
                needsWork = true;
                break;
            }
        }

        if (!needsWork)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                var decoded = (char)int.Parse(value.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (IsUnreserved(decoded))
                {
                    builder.Append(decoded);
                }
                else
                {
                    builder.Append('%').Append(char.ToUpperInvariant(value[i + 1])).Append(char.ToUpperInvariant(value[i + 2]));
                }

                i += 2;
            }
            else if (c is > '\x7e' or < '\x21')
            {
                var length = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
                    ? Encoding.UTF8.GetBytes(value.AsSpan(i, 2), utf8)
                    : Encoding.UTF8.GetBytes(value.AsSpan(i, 1), utf8);
                if (char.IsHighSurrogate(c) && length == 4)
                {
                    i++;
                }

                foreach (var b in utf8[..length])
                {
                    builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>Whether <paramref name="pattern"/> matches a prefix of <paramref name="path"/> (the whole path when it ends
    /// with <c>$</c>); <c>*</c> matches any run of characters. Linear backtracking: the last <c>*</c> seen absorbs one
    /// more character on a mismatch, so no input makes this exponential.</summary>
    internal static bool Matches(string pattern, string path)
    {
        var anchored = pattern.EndsWith('$');
        var end = anchored ? pattern.Length - 1 : pattern.Length;
        int p = 0, s = 0, starP = -1, starS = 0;
        while (true)
        {
            if (p == end && (!anchored || s == path.Length))
            {
                return true;
            }

            if (p < end && pattern[p] == '*')
            {
                starP = p++;
                starS = s;
                continue;
            }

            if (p < end && s < path.Length && pattern[p] == path[s])
            {
                p++;
                s++;
                continue;
            }

            if (starP >= 0 && starS < path.Length)
            {
                p = starP + 1;
                s = ++starS;
                continue;
            }

            return false;
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static bool IsUnreserved(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~';
}
