using System.Globalization;
using System.Text;

namespace FetchFunctions.Core.Robots;

/// <summary>Parses robots.txt (RFC 9309) for one product token: the groups whose user-agent lines name it (compared
/// case-insensitively), merged; else the <c>*</c> groups, merged; else no rules. Lines without a colon and unknown
/// records are ignored, as the RFC asks; at most <see cref="MaxBytes"/> are read.</summary>
internal static class RobotsParser
{
    /// <summary>RFC 9309 2.5: crawlers must parse at least 500 KiB; we parse exactly that much.</summary>
    public const int MaxBytes = 500 * 1024;

    /// <summary>Sitemap lines kept from one robots.txt.</summary>
    public const int MaxSitemaps = 100;

    /// <summary>The product token of a User-Agent header value: its leading letters, underscores and hyphens
    /// (<c>FetchFunctions/1.0 (+https://…)</c> → <c>FetchFunctions</c>).</summary>
    public static string ProductToken(string userAgent)
    {
        ArgumentNullException.ThrowIfNull(userAgent);
        var value = userAgent.AsSpan().Trim();
        var length = 0;
        while (length < value.Length && IsTokenChar(value[length]))
        {
            length++;
        }

        return value[..length].ToString();
    }

    public static RobotsRules Parse(ReadOnlySpan<byte> content, string productToken)
    {
        ArgumentNullException.ThrowIfNull(productToken);
        if (content.Length > MaxBytes)
        {
            content = content[..MaxBytes];
        }

        if (content.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            content = content[3..];
        }

        var text = Encoding.UTF8.GetString(content);
        var ours = new Group();
        var anyAgent = new Group();
        var matchesOurs = false;
        var matchesAny = false;
        var collectingAgents = false;
        var sitemaps = new List<string>();

        foreach (var rawLine in text.AsSpan().EnumerateLines())
        {
            var line = rawLine;
            var comment = line.IndexOf('#');
            if (comment >= 0)
            {
                line = line[..comment];
            }

            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (key.Equals("sitemap", StringComparison.OrdinalIgnoreCase))
            {
                if (sitemaps.Count < MaxSitemaps && Uri.TryCreate(value.ToString(), UriKind.Absolute, out var sitemap) && sitemap.Scheme is "http" or "https")
                {
                    sitemaps.Add(sitemap.AbsoluteUri);
                }

                continue;
            }

            if (key.Equals("user-agent", StringComparison.OrdinalIgnoreCase))
            {
                if (!collectingAgents)
                {
                    // A user-agent line after the group's records starts the next group.
                    matchesOurs = matchesAny = false;
                    collectingAgents = true;
                }

                if (value.StartsWith('*'))
                {
                    matchesAny = true;
                }
                else if (productToken.Length > 0 && value.Length > 0)
                {
                    var agent = value[..TokenLength(value)];
                    if (agent.Equals(productToken, StringComparison.OrdinalIgnoreCase))
                    {
                        // Named, even by a group without rules: then the * groups no longer apply to us.
                        matchesOurs = ours.Named = true;
                    }
                }

                continue;
            }

            var isAllow = key.Equals("allow", StringComparison.OrdinalIgnoreCase);
            var isDisallow = key.Equals("disallow", StringComparison.OrdinalIgnoreCase);
            var isDelay = key.Equals("crawl-delay", StringComparison.OrdinalIgnoreCase);
            if (!isAllow && !isDisallow && !isDelay)
            {
                // Sitemap and unknown records belong to no group and do not end one.
                continue;
            }

            collectingAgents = false;
            var (forUs, forAny) = (matchesOurs ? ours : null, matchesAny ? anyAgent : null);
            if (isDelay)
            {
                if (double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0 and < 86_400)
                {
                    forUs?.AddDelay(seconds);
                    forAny?.AddDelay(seconds);
                }

                continue;
            }

            // An empty value matches nothing (RFC 9309 2.2.2: "Disallow:" allows all); a path must start with / or *.
            if (value.IsEmpty || (value[0] != '/' && value[0] != '*'))
            {
                continue;
            }

            var rule = new RobotsRule(isAllow, RobotsRules.Normalise(value.ToString()));
            forUs?.Rules.Add(rule);
            forAny?.Rules.Add(rule);
        }

        var chosen = ours.Named ? ours : anyAgent;
        return new RobotsRules(chosen.Rules, chosen.Delay) { Sitemaps = sitemaps };
    }

    private static int TokenLength(ReadOnlySpan<char> value)
    {
        var length = 0;
        while (length < value.Length && IsTokenChar(value[length]))
        {
            length++;
        }

        return length;
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetter(c) || c is '_' or '-';

    private sealed class Group
    {
        public List<RobotsRule> Rules { get; } = [];
        public TimeSpan? Delay { get; private set; }
        public bool Named { get; set; }

        public void AddDelay(double seconds)
        {
            var delay = TimeSpan.FromSeconds(seconds);
            Delay = Delay is { } known && known > delay ? known : delay;
        }
    }
}
