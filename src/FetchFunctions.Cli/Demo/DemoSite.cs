using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Cli.Demo;

/// <summary>A small site on 127.0.0.1 for the <c>demo</c> command: pages, 404s, a 500 that heals, redirects, slow pages
/// and bodies over the demo's byte cap. It lets a fresh machine run a whole job without touching any other address.</summary>
internal sealed class DemoSite : IAsyncDisposable
{
    public const long LargeBodyBytes = 2 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<int, int> _flakyAttempts = new();

    private DemoSite(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    public static async Task<DemoSite> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var site = new DemoSite(app);
        site.Map();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        site.BaseUri = new Uri(address + "/");
        return site;
    }

    /// <summary>The demo job's URLs: mostly pages, with every kind of trouble mixed in.</summary>
    public IReadOnlyList<string> Urls(int count) => Enumerable.Range(0, count).Select(n => new Uri(BaseUri, (n % 50) switch
    {
        0 or 25 => $"missing/{n}",
        1 or 26 => $"flaky/{n}",
        2 => $"large/{n}",
        3 or 28 => $"redirect/{n}",
        4 => $"slow/{n}",
        _ => $"page/{n}",
    }).AbsoluteUri).ToList();

    private void Map()
    {
        var page = new string('x', 1900);
        _app.MapGet("/page/{n:int}", (int n) => Results.Content(
            string.Create(CultureInfo.InvariantCulture, $"<!doctype html><title>Page {n}</title><p>{page}</p>"), "text/html; charset=utf-8"));
        _app.MapGet("/missing/{n:int}", (int n) => Results.NotFound());
        _app.MapGet("/flaky/{n:int}", (int n) => _flakyAttempts.AddOrUpdate(n, 1, (_, a) => a + 1) == 1
            ? Results.StatusCode(StatusCodes.Status500InternalServerError)
            : Results.Text("recovered", "text/plain"));
        _app.MapGet("/redirect/{n:int}", (int n) => Results.Redirect($"/page/{n}"));
        _app.MapGet("/slow/{n:int}", async (int n, CancellationToken cancellationToken) =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            return Results.Text("slow but fine", "text/plain");
        });
        _app.MapGet("/large/{n:int}", async (HttpContext context) =>
        {
            context.Response.ContentType = "application/octet-stream";
            var block = new byte[64 * 1024];
            for (long sent = 0; sent < LargeBodyBytes; sent += block.Length)
            {
                await context.Response.Body.WriteAsync(block, context.RequestAborted);
            }
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
