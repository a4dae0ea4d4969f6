using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Tests.Infrastructure;

/// <summary>The site a job crawls: Kestrel on 127.0.0.1:0 and, as a second host, 127.0.0.2:0. <c>/page/{id}</c> answers a small text page, <c>/missing/{id}</c>
/// 404, <c>/hold/{key}/{id}</c> nothing until <see cref="Release"/> of its key (or the client gives up), so a job can be
/// caught running.</summary>
internal sealed class TargetSite : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new(StringComparer.Ordinal);

    private TargetSite(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The same site as another host (127.0.0.2): a job's per-host limits treat it apart from <see cref="BaseUri"/>.</summary>
    public Uri SecondHostUri { get; private set; } = null!;

    public string Url(string pathAndQuery) => new Uri(BaseUri, pathAndQuery).ToString();

    public string SecondHostUrl(string pathAndQuery) => new Uri(SecondHostUri, pathAndQuery).ToString();

    /// <summary>Requests seen for a path (without its query).</summary>
    public int Hits(string path) => _hits.TryGetValue(path, out var n) ? n : 0;

    public int HitsUnder(string prefix) => _hits.Where(h => h.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(h => h.Value);

    /// <summary>Lets every request held under the key through, now and from now on.</summary>
    public void Release(string key) => Hold(key).TrySetResult();

    private TaskCompletionSource Hold(string key) =>
        _holds.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public static string PageText(string id) => $"page {id}";

    public static async Task<TargetSite> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0", "http://127.0.0.2:0");
        var app = builder.Build();
        var site = new TargetSite(app);
        app.Use(async (context, next) =>
        {
            site._hits.AddOrUpdate(context.Request.Path.Value ?? "/", 1, (_, n) => n + 1);
            await next(context);
        });
        app.MapGet("/page/{id}", (string id) => Results.Text(PageText(id), "text/plain"));
        app.MapGet("/missing/{id}", () => Results.NotFound());
        app.MapGet("/hold/{key}/{id}", async (HttpContext context, string key, string id) =>
        {
            await site.Hold(key).Task.WaitAsync(context.RequestAborted);
            await context.Response.WriteAsync(PageText(id), context.RequestAborted);
        });
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        site.BaseUri = new Uri(addresses.Single(a => a.Contains("127.0.0.1", StringComparison.Ordinal)) + "/");
        site.SecondHostUri = new Uri(addresses.Single(a => a.Contains("127.0.0.2", StringComparison.Ordinal)) + "/");
        return site;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hold in _holds.Values)
        {
            hold.TrySetResult();
        }

        await _app.DisposeAsync();
    }
}
