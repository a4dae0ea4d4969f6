using System.Globalization;

namespace FetchFunctions.Core.Fetching;

/// <summary>A set of HTTP status codes written as codes and ranges ("200-299", "404").</summary>
internal sealed class StatusSet
{
    private readonly (int From, int To)[] _ranges;

    private StatusSet((int From, int To)[] ranges) => _ranges = ranges;

    public bool Contains(int status) => _ranges.Any(r => status >= r.From && status <= r.To);

    public IEnumerable<string> ToStrings() => _ranges.Select(r => r.From == r.To
        ? r.From.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{r.From}-{r.To}"));

    public static StatusSet Parse(IEnumerable<string> items) =>
        TryParse(items, out var set, out var error) ? set : throw new FormatException(error);

    public static bool TryParse(IEnumerable<string> items, out StatusSet set, out string? error)
    {
        ArgumentNullException.ThrowIfNull(items);
        var ranges = new List<(int, int)>();
        foreach (var item in items)
        {
            var parts = item.Split('-', StringSplitOptions.TrimEntries);
            if (parts.Length is < 1 or > 2
                || !TryStatus(parts[0], out var from)
                || !TryStatus(parts[^1], out var to)
                || from > to)
            {
                set = new StatusSet([]);
                error = $"'{item}' is not a status code (100-599) or a range of them such as 200-299.";
                return false;
            }

            ranges.Add((from, to));
        }

        set = new StatusSet([.. ranges]);
        error = null;
        return true;
    }

    private static bool TryStatus(string text, out int status) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out status) && status is >= 100 and <= 599;
}
