using System.Globalization;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Azure.Storage.Sas;
using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;
using FetchFunctions.Core.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FetchFunctions.Benchmarks;

/// <summary>Where the client's CPU per stored small body goes (<c>--parts profile</c>, or only this with
/// <c>FETCHBENCH_PROFILE=store</c>): 2 KiB uploads into a fresh in-memory Azurite at the benchmark's concurrency, one
/// layer at a time, from a raw HttpClient PUT (the floor) through the SDK with its default and tuned options to Core's
/// blob sink and the whole engine. The figure is process CPU (user + system) per upload, which Azurite, a child process,
/// does not add to; the difference between two rows is the cost of what the lower row adds. Run it once with
/// <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0</c> in the environment to see the thread pool's spinning.</summary>
internal static class StoreProfile
{
    /// <summary>A way to store body <c>i</c>; <see cref="Prepare"/> binds it to one run's fresh container.</summary>
    private sealed record Layer(string Name, Func<string, Func<int, CancellationToken, ValueTask>> Prepare);

    public static async Task RunAsync(BenchOptions options, Report report, CancellationToken cancellationToken)
    {
        var page = TestContent.Bytes(seed: 1, options.PageBytes);
        var content = BinaryData.FromBytes(page);
        var (azurite, _) = await Azurite.StartFreshAsync(cancellationToken);
        await using var azuriteScope = azurite;
        var connection = azurite.ConnectionString;

        var defaults = new BlobServiceClient(connection);
        var loggingOff = new BlobServiceClient(connection, Options(o => o.Diagnostics.IsLoggingEnabled = false));
        var tracingOff = new BlobServiceClient(connection, Options(o =>
        {
            o.Diagnostics.IsLoggingEnabled = false;
            o.Diagnostics.IsDistributedTracingEnabled = false;
        }));
        var telemetryOff = new BlobServiceClient(connection, Options(o =>
        {
            o.Diagnostics.IsLoggingEnabled = false;
            o.Diagnostics.IsDistributedTracingEnabled = false;
            o.Diagnostics.IsTelemetryEnabled = false;
        }));
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Concurrency,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        };
        var ownTransport = new BlobServiceClient(connection, Options(o =>
        {
            o.Diagnostics.IsLoggingEnabled = false;
            o.Diagnostics.IsDistributedTracingEnabled = false;
            o.Diagnostics.IsTelemetryEnabled = false;
            o.Transport = new HttpClientTransport(new HttpClient(handler, disposeHandler: false));
        }));

        // Core's registration: the options every host's blob client gets (StorageClientRegistration).
        await using var coreServices = CoreServices(connection);
        var core = coreServices.GetRequiredService<BlobServiceClient>();

        // The floor: the same Put Blob from a bare HttpClient with a container SAS in the query (no SDK at all).
        using var raw = SmallPages.CreateBareClient(options.Concurrency);
        var fetch = new FetchOptions();
        var time = TimeProvider.System;

        // The whole engine over Profile's in-process page server, storing into this Azurite (its container is fixed).
        var stub = () => new StubHandler(page);
        await using var engineDefault = CoreHost.Create(connection, options.Concurrency, options.BigBytes, primaryHandler: stub,
            settings: new Dictionary<string, string?> { ["Storage:ContainerName"] = EngineContainer });
        await using var engineDiscard = CoreHost.Create(storage: null, options.Concurrency, options.BigBytes, primaryHandler: stub);
        var policy = engineDefault.Policy;

        var layers = new List<Layer>
        {
            new("raw HttpClient Put Blob (SAS), the floor", name =>
            {
                var sas = defaults.GetBlobContainerClient(name).GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(2));
                return (i, ct) => RawPutAsync(raw, sas, i, page, ct);
            }),
            new("SDK defaults: BlobClient.UploadAsync(BinaryData) (part 2's bare loop)", name =>
            {
                var container = defaults.GetBlobContainerClient(name);
                return async (i, ct) => await container.GetBlobClient(Name(i)).UploadAsync(content, overwrite: true, ct);
            }),
            new("SDK defaults: BlockBlobClient.UploadAsync(stream), one Put Blob", name => Put(defaults.GetBlobContainerClient(name), page)),
            new("  same, SAS instead of Shared Key signing", name =>
                Put(new BlobContainerClient(defaults.GetBlobContainerClient(name).GenerateSasUri(BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(2))), page)),
            new("  + logging off", name => Put(loggingOff.GetBlobContainerClient(name), page)),
            new("  + distributed tracing off", name => Put(tracingOff.GetBlobContainerClient(name), page)),
            new("  + telemetry header off", name => Put(telemetryOff.GetBlobContainerClient(name), page)),
            new("  + own SocketsHttpHandler transport", name => Put(ownTransport.GetBlobContainerClient(name), page)),
            new("Core's client options (StorageClientRegistration)", name => Put(core.GetBlobContainerClient(name), page)),
            new("BlobBodySink (metadata, SHA-256), SDK defaults", name => Sink(defaults, name, page, fetch, time)),
            new("BlobBodySink, Core's client options", name => Sink(core, name, page, fetch, time)),
            new("whole engine, stub fetch, discarding sink", _ => async (i, ct) => await EngineAsync(engineDiscard, policy, i, ct)),
            new("whole engine, stub fetch, into Azurite (bench CoreHost client)", _ => async (i, ct) => await EngineAsync(engineDefault, policy, i, ct)),
        };

        // FETCHBENCH_PROFILE_LAYER=raw,BlobBodySink keeps only the layers whose names start so (to record one with perf).
        var only = Environment.GetEnvironmentVariable(LayerVariable);
        if (!string.IsNullOrEmpty(only))
        {
            var prefixes = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            layers.RemoveAll(l => !prefixes.Any(p => l.Name.TrimStart().StartsWith(p, StringComparison.OrdinalIgnoreCase)));
        }

        var uploads = int.TryParse(Environment.GetEnvironmentVariable(UploadsVariable), CultureInfo.InvariantCulture, out var n) ? n
            : options.Quick ? 1_000 : 3_000;
        var round = 0;
        async Task<(double Micros, double Bytes)> MeasureOnceAsync(Layer layer, int count)
        {
            // A fresh container per layer and run (Azurite slows down as one fills) and new names throughout.
            var name = string.Create(CultureInfo.InvariantCulture, $"profile-{round}");
            var first = ++round * 100_000;
            await defaults.GetBlobContainerClient(name).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            await defaults.GetBlobContainerClient(EngineContainer).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            var storeOne = layer.Prepare(name);
            GC.Collect();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var cpu = Environment.CpuUsage.TotalTime;
            await Measure.ForEachAsync(count, options.Concurrency, (i, ct) => storeOne(first + i, ct), cancellationToken);
            var micros = (Environment.CpuUsage.TotalTime - cpu).TotalMicroseconds / count;
            var bytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)count;
            await defaults.GetBlobContainerClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken);
            return (micros, bytes);
        }

        foreach (var layer in layers)
        {
            await MeasureOnceAsync(layer, uploads / 3);
        }

        var samples = layers.ToDictionary(l => l, _ => new List<(double Micros, double Bytes)>());
        for (var run = 0; run < options.Runs; run++)
        {
            for (var i = 0; i < layers.Count; i++)
            {
                var layer = layers[(i + run) % layers.Count];
                samples[layer].Add(await MeasureOnceAsync(layer, uploads));
            }

            await defaults.GetBlobContainerClient(EngineContainer).DeleteIfExistsAsync(cancellationToken: cancellationToken);
            Measure.Progress($"store profile run {run + 1} done");
        }

        var spin = Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit");
        var part = spin is null ? "profile store" : $"profile store (spin limit {spin})";
        foreach (var layer in layers)
        {
            report.Add(part, layer.Name, "µs CPU/upload", samples[layer].Select(s => s.Micros));
        }

        foreach (var layer in layers)
        {
            report.Add(part, layer.Name, "B alloc/upload", samples[layer].Select(s => s.Bytes));
        }
    }

    private const string EngineContainer = "profile-engine";

    private const string LayerVariable = "FETCHBENCH_PROFILE_LAYER";

    private const string UploadsVariable = "FETCHBENCH_PROFILE_UPLOADS";

    private static string Name(int i) => string.Create(CultureInfo.InvariantCulture, $"bench/bodies/{i:x8}");

    private static Func<int, CancellationToken, ValueTask> Put(BlobContainerClient container, byte[] page) => async (i, ct) =>
    {
        using var stream = new MemoryStream(page, writable: false);
        await container.GetBlockBlobClient(Name(i)).UploadAsync(stream, new BlobUploadOptions(), ct);
    };

    private static BlobClientOptions Options(Action<BlobClientOptions> configure)
    {
        var options = new BlobClientOptions();
        configure(options);
        return options;
    }

    private static ServiceProvider CoreServices(string connection)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [StorageClientRegistration.ConnectionName] = connection })
            .Build();
        var services = new ServiceCollection();
        // As in the Functions app: a logger factory, so the SDK's event source log forwarder has somewhere to write.
        services.AddLogging();
        services.AddOptions<StorageOptions>();
        services.AddFetchFunctionsStorage(configuration);
        return services.BuildServiceProvider();
    }

    private static async ValueTask RawPutAsync(HttpClient client, Uri containerSas, int i, byte[] page, CancellationToken cancellationToken)
    {
        var builder = new UriBuilder(containerSas);
        builder.Path += "/" + Name(i);
        using var request = new HttpRequestMessage(HttpMethod.Put, builder.Uri) { Content = new ByteArrayContent(page) };
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2025-11-05");
        using var response = await client.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Core's sink over one run's container, fed as the engine feeds it: a metered body, hashed as it is read.</summary>
    private static Func<int, CancellationToken, ValueTask> Sink(BlobServiceClient service, string container, byte[] page, FetchOptions fetch, TimeProvider time)
    {
        var sink = new BlobBodySink(service, Microsoft.Extensions.Options.Options.Create(new StorageOptions { ContainerName = container }),
            Microsoft.Extensions.Options.Options.Create(fetch));
        return async (i, ct) =>
        {
            await using var body = new BodyMeterStream(new MemoryStream(page, writable: false), fetch.MaxBodyBytes, fetch.BodyIdleTimeout, time);
            var url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:8080/page/profile-{i}");
            await sink.StoreAsync(new RecordWrite(new Uri(url), null, null, null, time.GetUtcNow(), Name(i), "text/html", null, url, url, 200), body, ct);
        };
    }

    private static async Task EngineAsync(CoreHost core, FetchPolicy policy, int i, CancellationToken cancellationToken)
    {
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:8080/page/profile-{i}"));
        var result = await core.Engine.FetchAsync(new FetchRequest(url, Name(i), policy), cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"{result.ErrorKind}: {result.Error}");
        }
    }
}
