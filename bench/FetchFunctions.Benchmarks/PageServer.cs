using System.Globalization;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Benchmarks;

/// <summary>The loopback origin: Kestrel on 127.0.0.1:0 in its own process (so the benchmark's CPU time is the client's
/// alone). <c>/page/{n}</c> answers a small page of deterministic bytes, <c>/big/{bytes}</c> streams a body of that size.
/// Paths are parsed by hand: routing would add server CPU that both sides of every comparison pay.</summary>
internal static class PageServer
{
    public const string Command = "__serve";

    /// <summary>Runs the server until standard input closes (the benchmark exits or stops it). With several
    /// <paramref name="hosts"/> it listens on 127.0.0.1, 127.0.0.2, … (each on a port of its own) and prints every base
    /// address on its one line, separated by spaces.</summary>
    public static async Task<int> RunAsync(int pageBytes, int hosts = 1)
    {
        var page = TestContent.Bytes(seed: 1, pageBytes);
        var block = new byte[64 * 1024];
        TestContent.FillBlock(seed: 2, 0, block);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls([.. Enumerable.Range(1, hosts).Select(i => $"http://127.0.0.{i}:0")]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        await using var app = builder.Build();
        app.Run(context => Handle(context, page, block));
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        await Console.Out.WriteLineAsync(string.Join(' ', addresses.Select(address => address + "/")));
        await Console.Out.FlushAsync();

        // The parent holds our standard input: when it goes, we go.
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
        return 0;
    }

    private static async Task Handle(HttpContext context, byte[] page, byte[] block)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        var response = context.Response;
        if (path.StartsWith("/page/", StringComparison.Ordinal))
        {
            response.ContentType = "text/html";
            response.ContentLength = page.Length;
            await response.Body.WriteAsync(page, context.RequestAborted);
            return;
        }

        if (path.StartsWith("/big/", StringComparison.Ordinal)
            && long.TryParse(path.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            response.ContentType = "application/octet-stream";
            response.ContentLength = size;
            for (long sent = 0; sent < size; sent += block.Length)
            {
                await response.Body.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, size - sent)), context.RequestAborted);
            }

            return;
        }

        response.StatusCode = StatusCodes.Status404NotFound;
    }
}
