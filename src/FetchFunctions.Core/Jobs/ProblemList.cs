using System.Globalization;

namespace FetchFunctions.Core.Jobs;

/// <summary>Collects validation problems. Every problem is counted; URL problems are listed up to a cap so that a
/// million bad lines do not make a million-entry answer.</summary>
internal sealed class ProblemList
{
    public const int MaxListedUrlProblems = 1000;
    private const int MaxValueLength = 200;

    private readonly List<ValidationProblem> _problems = [];
    private long _urlProblems;

    public void Add(string path, string? value, string reason) => _problems.Add(new ValidationProblem(path, Shorten(value), reason));

    public void AddUrl(string path, string? value, string reason)
    {
        _urlProblems++;
        if (_urlProblems <= MaxListedUrlProblems)
        {
            Add(path, value, reason);
        }
    }

    /// <summary>The problems in the order found, plus one entry counting the URL problems not listed.</summary>
    public IReadOnlyList<ValidationProblem> ToList(string urlsPath)
    {
        if (_urlProblems <= MaxListedUrlProblems)
        {
            return [.. _problems];
        }

        var omitted = _urlProblems - MaxListedUrlProblems;
        return
        [
            .. _problems,
            new ValidationProblem(urlsPath, omitted.ToString(CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{omitted} more invalid URLs are not listed ({_urlProblems} in all).")),
        ];
    }

    private static string? Shorten(string? value) =>
        value is { Length: > MaxValueLength } ? string.Concat(value.AsSpan(0, MaxValueLength), "…") : value;
}
