using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>A generated site on three loopback hosts (127.0.0.1, 127.0.0.2 and 127.0.0.3, ports of their own): pages by
/// path, each HTML with links, a redirect, or an endless calendar; files of any type (robots.txt, sitemaps); extra
/// response headers. It records every request as "host:port/path", so tests assert what the site saw.</summary>
internal sealed class SiteGraph : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<string> _requests = new();

    private SiteGraph(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:port/ (the site), http://127.0.0.2:port/ (another host) and http://127.0.0.3:port/ (a
    /// third, which tests keep outside the allowed networks).</summary>
    public Uri Site { get; private set; } = null!;

    public Uri Other { get; private set; } = null!;

    public Uri Third { get; private set; } = null!;

    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>Pages by key ("{site}/path"); a value starting "redirect:" answers 302 to the rest (a relative URL or
    /// {site}/{other}/{third}), any other value is HTML with the hosts expanded.</summary>
    public Dictionary<string, string> Pages { get; } = new(StringComparer.Ordinal);

    /// <summary>Other answers by key: a content type and the exact bytes (robots.txt, sitemaps, gzip).</summary>
    public Dictionary<string, (string ContentType, byte[] Body)> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>An extra response header by key (for example X-Robots-Tag).</summary>
    public Dictionary<string, (string Name, string Value)> Headers { get; } = new(StringComparer.Ordinal);

    /// <summary>Awaited before each answer with the request's key ("{site}/path"): lets a test hold pages back.</summary>
    public Func<string, CancellationToken, Task>? BeforeAnswer { get; set; }

    public static async Task<SiteGraph> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0", "http://127.0.0.2:0", "http://127.0.0.3:0");
        var app = builder.Build();
        var site = new SiteGraph(app);
        app.Run(site.AnswerAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a + "/")).ToList();
        site.Site = addresses.Single(a => a.Host == "127.0.0.1");
        site.Other = addresses.Single(a => a.Host == "127.0.0.2");
        site.Third = addresses.Single(a => a.Host == "127.0.0.3");
        return site;
    }

    /// <summary>A text with {site}, {other} and {third} replaced by the hosts' base URLs (without the final '/').</summary>
    public string Expand(string text) => text
        .Replace("{site}", Site.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal)
        .Replace("{other}", Other.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal)
        .Replace("{third}", Third.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal);

    /// <summary>Requests as "host:port/path", each key ("{site}/path") expanded, sorted: what a test expects to see.</summary>
    public string[] Seen(IEnumerable<string> keys) =>
        [.. keys.Select(k => Expand(k).Replace("http://", string.Empty, StringComparison.Ordinal)).Order(StringComparer.Ordinal)];

    private async Task AnswerAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        _requests.Enqueue($"{context.Request.Host}{path}");
        var hostKey = context.Request.Host.Host switch
        {
            "127.0.0.2" => "{other}",
            "127.0.0.3" => "{third}",
            _ => "{site}",
        };
        var key = hostKey + path;
        if (BeforeAnswer is { } before)
        {
            await before(key, context.RequestAborted);
        }

        if (Headers.TryGetValue(key, out var header))
        {
            context.Response.Headers[header.Name] = header.Value;
        }

        if (path.StartsWith("/cal/", StringComparison.Ordinal) && int.TryParse(path[5..], out var month))
        {
            // An endless calendar: every month links to the next.
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync($"<a href=\"/cal/{month + 1}\">next</a>");
            return;
        }

        if (Files.TryGetValue(key, out var file))
        {
            context.Response.ContentType = file.ContentType;
            await context.Response.Body.WriteAsync(file.Body);
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
