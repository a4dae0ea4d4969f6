using System.ComponentModel.DataAnnotations;
using System.Reflection;
using FetchFunctions.Core.Validation;

namespace FetchFunctions.Core.Tests.Validation;

public sealed class TimeSpanRangeAttributeTests
{
    [Theory]
    [InlineData("00:00:01", true)]
    [InlineData("00:00:30", true)]
    [InlineData("00:01:00", true)]
    [InlineData("00:00:00.999", false)]
    [InlineData("00:01:00.001", false)]
    public void IsValid_Bounds_Inclusive(string value, bool expected)
    {
        Assert.Equal(expected, CreateSut().IsValid(TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void FormatErrorMessage_Field_NamesItAndItsBounds()
    {
        Assert.Equal("The field AttemptTimeout must be between 00:00:01 and 00:01:00.", CreateSut().FormatErrorMessage("AttemptTimeout"));
    }

    [Fact]
    public void IsValid_ManyThreadsOnOneAttribute_NeverThrows()
    {
        var sut = CreateSut();

        // What [Range(typeof(TimeSpan), …)] failed at: its first uses convert its bounds in place.
        Parallel.For(0, 10_000, i => Assert.True(sut.IsValid(TimeSpan.FromMilliseconds(1_000 + (i % 59_000)))));
    }

    [Fact]
    public void CoreOptions_NoTimeSpanRangeAttribute_AllUseTimeSpanRange()
    {
        // RangeAttribute with a TimeSpan operand is not thread-safe; CLI tests build several hosts at once in one process.
        var offenders = typeof(TimeSpanRangeAttribute).Assembly.GetTypes()
            .SelectMany(type => type.GetProperties(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance))
            .Where(property => property.GetCustomAttributes<RangeAttribute>().Any(range => range.OperandType == typeof(TimeSpan)))
            .Select(property => $"{property.DeclaringType!.Name}.{property.Name}")
            .ToList();

        Assert.Empty(offenders);
        Assert.Contains(typeof(TimeSpanRangeAttribute).Assembly.GetTypes().SelectMany(type => type.GetProperties()),
            property => property.GetCustomAttribute<TimeSpanRangeAttribute>() is not null);
    }

    private static TimeSpanRangeAttribute CreateSut() => new("00:00:01", "00:01:00");
}
