using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>An OTLP/HTTP receiver (protocol http/protobuf) on 127.0.0.1:0: accepts <c>POST /v1/traces</c> and
/// <c>/v1/metrics</c> and keeps every body. Protobuf strings are raw UTF-8, so a byte search finds span names, attribute
/// keys and values without a proto package.</summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    public const string Traces = "/v1/traces";
    public const string Metrics = "/v1/metrics";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, byte[] Body)> _bodies = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT takes it.</summary>
    public Uri Endpoint { get; private set; } = null!;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        foreach (var path in new[] { Traces, Metrics })
        {
            app.MapPost(path, async (HttpContext context) =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                receiver._bodies.Enqueue((path, body.ToArray()));
                // An empty Export*ServiceResponse: full success.
                context.Response.ContentType = "application/x-protobuf";
            });
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Endpoint = new Uri(address + "/");
        return receiver;
    }

    public IReadOnlyList<byte[]> Bodies(string path) => [.. _bodies.Where(b => b.Path == path).Select(b => b.Body)];

    /// <summary>Whether any body posted to <paramref name="path"/> holds <paramref name="text"/> as UTF-8.</summary>
    public bool Received(string path, string text)
    {
        var needle = Encoding.UTF8.GetBytes(text);
        return Bodies(path).Any(body => body.AsSpan().IndexOf(needle) >= 0);
    }

    /// <summary>Whether any body at all holds <paramref name="text"/> as UTF-8.</summary>
    public bool ReceivedAnywhere(string text) => Received(Traces, text) || Received(Metrics, text);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
