using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>A generated site on two loopback hosts (127.0.0.1 and 127.0.0.2, ports of their own): pages by path, each
/// HTML with links, a redirect, or an endless calendar. It records every request as "host:port/path", so tests assert
/// what the site saw.</summary>
internal sealed class SiteGraph : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _requests = new();

    private SiteGraph(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:port/ (the site) and http://127.0.0.2:port/ (another host).</summary>
    public Uri Site { get; private set; } = null!;

    public Uri Other { get; private set; } = null!;

    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>Pages by path; a value starting "redirect:" answers 302 to the rest (a relative URL or {site}/{other}).</summary>
    public Dictionary<string, string> Pages { get; } = new(StringComparer.Ordinal);

    public static async Task<SiteGraph> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0", "http://127.0.0.2:0");
        var app = builder.Build();
        var site = new SiteGraph(app);
        app.Run(site.AnswerAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a + "/")).ToList();
        site.Site = addresses.Single(a => a.Host == "127.0.0.1");
        site.Other = addresses.Single(a => a.Host == "127.0.0.2");
        return site;
    }

    /// <summary>A page's text with {site} and {other} replaced by the hosts' base URLs (without the final '/').</summary>
    public string Expand(string text) =>
        text.Replace("{site}", Site.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal).Replace("{other}", Other.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal);

    private async Task AnswerAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        _requests.Enqueue($"{context.Request.Host}{path}");
        var key = $"{(context.Request.Host.Host == "127.0.0.2" ? "{other}" : "{site}")}{path}";
        if (path.StartsWith("/cal/", StringComparison.Ordinal) && int.TryParse(path[5..], out var month))
        {
            // An endless calendar: every month links to the next.
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync($"<a href=\"/cal/{month + 1}\">next</a>");
            return;
        }

        if (!Pages.TryGetValue(key, out var page))
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (page.StartsWith("redirect:", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 302;
            context.Response.Headers.Location = Expand(page["redirect:".Length..]);
            return;
        }

        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(Expand(page));
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
