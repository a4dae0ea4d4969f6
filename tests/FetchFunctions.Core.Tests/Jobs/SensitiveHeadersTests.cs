using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Tests.Jobs;

public sealed class SensitiveHeadersTests
{
    [Theory]
    [InlineData("Authorization")]
    [InlineData("proxy-authorization")]
    [InlineData("Cookie")]
    [InlineData("Set-Cookie")]
    [InlineData("X-Api-Key")]
    [InlineData("X-Auth-Token")]
    [InlineData("Client-Secret")]
    [InlineData("X-Password")]
    public void IsSensitive_CredentialHeader_IsTrue(string name) => Assert.True(SensitiveHeaders.IsSensitive(name));

    [Theory]
    [InlineData("Accept")]
    [InlineData("X-Trace")]
    [InlineData("Referer")]
    public void IsSensitive_OrdinaryHeader_IsFalse(string name) => Assert.False(SensitiveHeaders.IsSensitive(name));

    [Fact]
    public void Shown_SensitiveValue_IsRedacted() =>
        Assert.Equal((SensitiveHeaders.Redacted, "text/html"), (SensitiveHeaders.Shown("Cookie", "s=1"), SensitiveHeaders.Shown("Accept", "text/html")));
}
