using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace FetchFunctions.Core.Validation;

/// <summary>A <see cref="TimeSpan"/> option between two bounds, inclusive. Not <c>[Range(typeof(TimeSpan), …)]</c>:
/// that attribute converts its bounds on first use and stores them back into itself, so two threads validating options
/// at once (hosts started in parallel in one process) can see a half-converted attribute and fail with an
/// InvalidCastException. These bounds are parsed once, here, and never change.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
internal sealed class TimeSpanRangeAttribute : ValidationAttribute
{
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base("The field {0} must be between {1} and {2}.")
    {
        Minimum = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);
        Maximum = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);
    }

    public TimeSpan Minimum { get; }

    public TimeSpan Maximum { get; }

    public override bool IsValid(object? value) => value is null || (value is TimeSpan span && span >= Minimum && span <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);
}
