using FetchFunctions.Core.Telemetry;

namespace FetchFunctions.Core.Tests.Telemetry;

public sealed class TelemetryExportTests
{
    private static TelemetryExport CreateSut(Dictionary<string, string?> settings, string? otlpEndpoint = null) =>
        TelemetryExport.Read(name => settings.GetValueOrDefault(name), otlpEndpoint);

    [Fact]
    public void Read_NothingSet_ExportsNothing()
    {
        var export = CreateSut([]);

        Assert.Equal(TelemetryExport.None, export);
        Assert.False(export.Any);
    }

    [Fact]
    public void Read_OtlpEndpoint_HttpProtobufWithSignalPaths()
    {
        var export = CreateSut(new() { [TelemetryExport.OtlpEndpointName] = "http://127.0.0.1:4318" });

        Assert.Equal(new OtlpTarget(new Uri("http://127.0.0.1:4318/v1/traces"), new Uri("http://127.0.0.1:4318/v1/metrics"), false), export.Otlp);
        Assert.Null(export.AzureMonitorConnectionString);
    }

    [Fact]
    public void Read_OtlpEndpointWithPathAndGrpc_PathKeptOrEndpointAsIs()
    {
        Assert.Equal(new Uri("http://127.0.0.1:4318/collector/v1/traces"),
            CreateSut(new() { [TelemetryExport.OtlpEndpointName] = "http://127.0.0.1:4318/collector" }).Otlp!.TracesEndpoint);
        Assert.Equal(new OtlpTarget(new Uri("http://127.0.0.1:4317"), new Uri("http://127.0.0.1:4317"), true),
            CreateSut(new() { [TelemetryExport.OtlpEndpointName] = "http://127.0.0.1:4317", [TelemetryExport.OtlpProtocolName] = "grpc" }).Otlp);
    }

    [Fact]
    public void Read_OptionGiven_TakesThePlaceOfTheEnvironment()
    {
        var export = CreateSut(new() { [TelemetryExport.OtlpEndpointName] = "http://127.0.0.1:1" }, "http://127.0.0.1:2/");

        Assert.Equal(new Uri("http://127.0.0.1:2/v1/metrics"), export.Otlp!.MetricsEndpoint);
    }

    [Theory]
    [InlineData("not a url", null)]
    [InlineData("ftp://127.0.0.1/", null)]
    [InlineData("http://user:pw@127.0.0.1/", null)]
    [InlineData("http://127.0.0.1:4318", "http/json")]
    public void Read_UnusableOtlpSetting_FormatExceptionNamingIt(string endpoint, string? protocol)
    {
        var error = Assert.Throws<FormatException>(() =>
            CreateSut(new() { [TelemetryExport.OtlpEndpointName] = endpoint, [TelemetryExport.OtlpProtocolName] = protocol }));

        Assert.Contains("OTEL_EXPORTER_OTLP_", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ConnectionStringWithAadAuthentication_UserAssignedIdentityOfTheAuthenticationString()
    {
        var export = CreateSut(new()
        {
            [TelemetryExport.AzureMonitorConnectionStringName] = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
            [TelemetryExport.AzureMonitorAuthenticationName] = "Authorization=AAD;ClientId=11111111-1111-1111-1111-111111111111",
            ["AzureWebJobsStorage__clientId"] = "22222222-2222-2222-2222-222222222222",
        });

        Assert.Equal(new ManagedIdentity("11111111-1111-1111-1111-111111111111"), export.AzureMonitorIdentity);
        Assert.Null(export.Otlp);
    }

    [Fact]
    public void Read_ConnectionStringAndStorageManagedIdentity_TheStorageIdentity()
    {
        var export = CreateSut(new()
        {
            [TelemetryExport.AzureMonitorConnectionStringName] = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
            ["AzureWebJobsStorage__credential"] = "managedidentity",
            ["AzureWebJobsStorage__clientId"] = "22222222-2222-2222-2222-222222222222",
        });

        Assert.Equal(new ManagedIdentity("22222222-2222-2222-2222-222222222222"), export.AzureMonitorIdentity);
    }

    [Fact]
    public void Read_ConnectionStringOnly_KeyAuthentication()
    {
        var export = CreateSut(new() { [TelemetryExport.AzureMonitorConnectionStringName] = "InstrumentationKey=00000000-0000-0000-0000-000000000000" });

        Assert.NotNull(export.AzureMonitorConnectionString);
        Assert.Null(export.AzureMonitorIdentity);
    }

    [Fact]
    public void Read_AuthenticationStringNotAad_FormatException()
    {
        Assert.Throws<FormatException>(() => CreateSut(new()
        {
            [TelemetryExport.AzureMonitorConnectionStringName] = "InstrumentationKey=00000000-0000-0000-0000-000000000000",
            [TelemetryExport.AzureMonitorAuthenticationName] = "ClientId=1",
        }));
    }
}
