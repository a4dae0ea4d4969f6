using System.Globalization;
using FetchFunctions.Core.Warc;
using Microsoft.AspNetCore.Mvc;

namespace FetchFunctions.Http;

/// <summary>A stored page as the answer: its body streamed as it is read from storage, never buffered whole.</summary>
internal sealed class StoredPageResult(StoredPage page) : IActionResult
{
    /// <summary>The status the crawled server answered with (the answer itself is 200: the stored page was found).</summary>
    public const string StoredStatusHeader = "X-Crawl-Status";

    public async Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        await using (page)
        {
            var response = context.HttpContext.Response;
            response.StatusCode = 200;
            response.ContentType = page.ContentType ?? "application/octet-stream";
            response.ContentLength = page.Length;
            response.Headers[StoredStatusHeader] = page.Status.ToString(CultureInfo.InvariantCulture);
            if (page.ContentEncoding is { } encoding)
            {
                response.Headers.ContentEncoding = encoding;
            }

            await page.Body.CopyToAsync(response.Body, context.HttpContext.RequestAborted);
        }
    }
}
