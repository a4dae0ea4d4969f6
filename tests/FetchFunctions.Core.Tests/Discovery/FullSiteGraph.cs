using System.IO.Compression;
using System.Text;

namespace FetchFunctions.Core.Tests.Discovery;

/// <summary>The site graph of issue 19 point 5 on <see cref="SiteGraph"/>: relative and absolute links, a &lt;base&gt;,
/// fragments, duplicates, the three kinds of nofollow, a section robots.txt disallows, a link to a blocked address
/// (127.0.0.3, outside the allowed networks), an off-scope host (127.0.0.2), an endless calendar, a sitemap index with a
/// gzipped sitemap (named by robots.txt), and redirects into and out of scope. The tests say which pages they expect
/// as literal paths; this class only builds the site (the app's tests use it too).</summary>
internal static class FullSiteGraph
{
    /// <summary>The engine's allowed networks in these tests: the site and the other host, never 127.0.0.3.</summary>
    public static Dictionary<string, string?> Settings() => new()
    {
        ["Fetch:AllowedNetworks:0"] = "127.0.0.1/32",
        ["Fetch:AllowedNetworks:1"] = "127.0.0.2/32",
    };

    public static void Build(SiteGraph site)
    {
        site.Files["{site}/robots.txt"] = Text("text/plain", site.Expand("""
            User-agent: *
            Disallow: /private/

            Sitemap: {site}/sitemap-index.xml
            """));
        site.Pages["{site}/"] = """
            <html><head><title>home</title></head><body>
            <a href="/a">a</a> <a href="b#frag">b, relative with a fragment</a> <a href="{site}/a">a again, absolute</a>
            <a href="#top">fragment only</a> <a href="/nofollowed" rel="nofollow">nofollow</a>
            <a href="{other}/off">other host</a> <a href="{third}/blocked">blocked address</a> <a href="mailto:x@site">mail</a>
            <a href="/redirect-in">redirect in</a> <a href="/redirect-out">redirect out</a> <a href="/private/secret">disallowed</a>
            <a href="/cal/1">calendar</a> <a href="/meta">meta nofollow</a> <a href="/xrobots">header nofollow</a> <a href="/docs/">docs</a>
            </body></html>
            """;
        site.Pages["{site}/a"] = """<a href="/">home</a> <a href="/b">b</a> <a href="/c">c</a> <a href="/a/deep">deep</a>""";
        site.Pages["{site}/b"] = """<base href="/sub/"><a href="x">x under the base</a>""";
        site.Pages["{site}/redirect-in"] = "redirect:/c";
        site.Pages["{site}/c"] = """<a href="/d">d</a>""";
        site.Pages["{site}/redirect-out"] = "redirect:{other}/landing";
        site.Pages["{other}/landing"] = """<a href="{site}/from-off">back in</a>""";
        site.Pages["{site}/private/secret"] = """<a href="/private/more">more</a>""";
        site.Pages["{site}/meta"] = """<meta name="robots" content="nofollow"><a href="/never-meta">never</a>""";
        site.Pages["{site}/xrobots"] = """<a href="/never-header">never</a>""";
        site.Headers["{site}/xrobots"] = ("X-Robots-Tag", "nofollow");
        site.Pages["{site}/nofollowed"] = """<p>followed only when nofollow is not respected</p>""";
        site.Pages["{site}/never-meta"] = """<p>no links</p>""";
        site.Pages["{site}/never-header"] = """<p>no links</p>""";
        site.Pages["{site}/docs/"] = """<a href="guide">guide</a> <a href="../outside">outside the prefix</a>""";
        site.Pages["{site}/docs/guide"] = """<a href="more">more</a>""";
        site.Pages["{site}/docs/more"] = """<a href="/docs/">docs</a>""";
        site.Pages["{site}/outside"] = """<a href="/a">a</a>""";
        site.Pages["{site}/a/deep"] = """<a href="/deeper">deeper</a>""";
        site.Pages["{site}/sub/x"] = """<a href="/deeper">deeper</a>""";
        site.Pages["{site}/d"] = """<a href="/deeper">deeper</a>""";
        site.Pages["{site}/deeper"] = """<a href="/deepest">deepest</a>""";
        site.Pages["{site}/from-sitemap"] = """<a href="/b">b</a> <a href="/sitemap-child">child</a>""";
        site.Pages["{site}/sitemap-child"] = """<p>no links</p>""";
        site.Pages["{site}/from-fallback"] = """<p>no links</p>""";

        site.Files["{site}/sitemap-index.xml"] = Text("application/xml", site.Expand("""
            <?xml version="1.0" encoding="UTF-8"?>
            <sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <sitemap><loc>{site}/sitemaps/pages.xml.gz</loc></sitemap>
            </sitemapindex>
            """));
        // Served as application/octet-stream: gzip is recognised by its magic bytes.
        site.Files["{site}/sitemaps/pages.xml.gz"] = ("application/octet-stream", Gzip(site.Expand("""
            <?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc>{site}/</loc></url>
              <url><loc>{site}/from-sitemap</loc></url>
              <url><loc>{other}/in-sitemap</loc></url>
            </urlset>
            """)));
        // Read only when robots.txt names no sitemap (a test removes its Sitemap line).
        site.Files["{site}/sitemap.xml"] = Text("application/xml", site.Expand("""
            <?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
              <url><loc>{site}/from-fallback</loc></url>
            </urlset>
            """));
    }

    /// <summary>robots.txt without its Sitemap line, so sitemaps fall back to /sitemap.xml.</summary>
    public static void WithoutSitemapLine(SiteGraph site) =>
        site.Files["{site}/robots.txt"] = Text("text/plain", "User-agent: *\nDisallow: /private/\n");

    private static (string, byte[]) Text(string contentType, string text) => (contentType, Encoding.UTF8.GetBytes(text));

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }
}
