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
/// and bodies over the demo's byte cap for the list job; and under /site/ a generated site of linked pages for the
/// crawl with link discovery (<see cref="CrawlSeed"/>), with a robots.txt, a sitemap and links the rules leave alone.
/// It lets a fresh machine run whole jobs without touching any other address.</summary>
internal sealed class DemoSite : IAsyncDisposable
{
    public const long LargeBodyBytes = 2 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<int, int> _flakyAttempts = new();

    private DemoSite(WebApplication app) => _app = app;

    /// <summary>The generated site's sections (linked from its home page) and pages per section (linked from each section).</summary>
    public const int Sections = 20, PagesPerSection = 15, Orphans = 5;

    public Uri BaseUri { get; private set; } = null!;

    /// <summary>The crawl's seed: the generated site's home page.</summary>
    public Uri CrawlSeed => new(BaseUri, "site/");

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
        MapLinkedSite();
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

    /// <summary>/site/: a home page linking to <see cref="Sections"/> sections, each linking to its
    /// <see cref="PagesPerSection"/> pages, the home page and the next section (duplicates); a section robots.txt
    /// disallows, a nofollow link, a link to another loopback address (out of scope: never contacted) and a mailto: link;
    /// the sitemap (named by robots.txt) lists <see cref="Orphans"/> pages no page links to.</summary>
    private void MapLinkedSite()
    {
        _app.MapGet("/robots.txt", () => Results.Text(
            $"User-agent: *\nDisallow: /site/private/\n\nSitemap: {new Uri(BaseUri, "sitemap.xml").AbsoluteUri}\n", "text/plain"));
        _app.MapGet("/sitemap.xml", () => Results.Content(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
            + string.Concat(Enumerable.Range(0, Orphans).Select(k => $"<url><loc>{new Uri(BaseUri, $"site/orphan/{k}").AbsoluteUri}</loc></url>"))
            + "</urlset>", "application/xml"));
        _app.MapGet("/site/", () => Html("Home",
            string.Concat(Enumerable.Range(0, Sections).Select(i => Link($"/site/s/{i}", $"Section {i}")))
            + Link("/site/private/account", "Account") + "<a rel=\"nofollow\" href=\"/site/print\">Print</a>"
            + Link($"http://127.0.0.2:{BaseUri.Port}/elsewhere", "Elsewhere") + Link("mailto:demo@example.org", "Mail")));
        _app.MapGet("/site/s/{i:int}", (int i) => Html($"Section {i}",
            string.Concat(Enumerable.Range(0, PagesPerSection).Select(j => Link($"/site/s/{i}/p/{j}", $"Page {i}.{j}")))
            + Link("/site/", "Home") + Link($"/site/s/{(i + 1) % Sections}", "Next section")));
        _app.MapGet("/site/s/{i:int}/p/{j:int}", (int i, int j) => Html($"Page {i}.{j}",
            Link($"/site/s/{i}", "Up") + Link($"/site/s/{i}/p/{(j + 1) % PagesPerSection}", "Next")));
        _app.MapGet("/site/orphan/{k:int}", (int k) => Html($"Orphan {k}", Link("/site/", "Home")));
        _app.MapGet("/site/private/account", () => Html("Account", string.Empty));
    }

    private static string Link(string href, string text) => $"<a href=\"{href}\">{text}</a> ";

    private static IResult Html(string title, string body) =>
        Results.Content($"<!doctype html><title>{title}</title><body>{body}</body>", "text/html; charset=utf-8");

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
