using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using FetchFunctions.Core.Jobs;
using FetchFunctions.Core.Tests.Infrastructure;
using FetchFunctions.Http;
using FetchFunctions.Intake;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FetchFunctions.Tests.Infrastructure;

[CollectionDefinition(Name)]
public sealed class AppTests : ICollectionFixture<AppHost>
{
    /// <summary>The tests share one Durable host and the one intake queue, so they run one after another.</summary>
    public const string Name = "App";
}

/// <summary>An HTTP answer as the client sees it.</summary>
internal sealed record HttpAnswer(int Status, string? ContentType, string? Location, JsonElement Body);

/// <summary>The Functions app as the host runs it, minus the host: the app's own services and log filters
/// (<see cref="AppServices"/>, <see cref="AppLogging"/>) in the Durable in-process test host, with the app's orchestrator
/// methods and activity class registered under their function names, real Azurite for storage, and a loopback site to
/// crawl, which the operator allows through <c>Fetch:AllowedNetworks</c> as a user would.</summary>
public sealed class AppHost : IAsyncLifetime
{
    public const int MaxRequestBodyBytes = 300_000;
    public const int BatchesPerShard = 2;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private DurableTaskTestHost? _durable;
    private IServiceProvider? _mvc;

    internal TargetSite Site { get; private set; } = null!;

    internal LogCapture Logs { get; } = new();

    internal string ContainerName { get; } = $"app{Guid.NewGuid():N}";

    internal BlobContainerClient Container { get; private set; } = null!;

    internal string ConnectionString { get; private set; } = null!;

    internal DurableTaskClient Client => _durable!.Client;

    internal IServiceProvider Services => _durable!.Services;

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedAzurite.ConnectionStringAsync();
        Site = await TargetSite.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = ConnectionString,
            ["Storage:ContainerName"] = ContainerName,
            ["Fetch:AllowedNetworks:0"] = "127.0.0.1/32",
            ["Fetch:AllowedNetworks:1"] = "127.0.0.2/32",
            ["Crawl:BatchesPerShard"] = BatchesPerShard.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Crawl:MaxUrls"] = "1000",
            ["Crawl:MaxInlineUrls"] = "100",
            ["Crawl:MaxRequestBodyBytes"] = MaxRequestBodyBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();

        // The test host listens on the port it is given and dials it, so it cannot bind port 0 and report: TestPorts
        // chooses (outside the ports the OS hands out), and chooses again if the port was taken before the bind.
        _durable = await TestPorts.StartAsync(1, ports => DurableTaskTestHost.StartAsync(
            AppFunctionRegistry.Register,
            new DurableTaskTestHostOptions
            {
                Port = ports[0],
                ConfigureServices = services =>
                {
                    AppServices.Configure(services, configuration);
                    services.AddLogging(logging =>
                    {
                        logging.SetMinimumLevel(LogLevel.Information);
                        AppLogging.Configure(logging);
                        logging.AddProvider(Logs);
                    });
                },
            }));

        Container = Services.GetRequiredService<BlobServiceClient>().GetBlobContainerClient(ContainerName);

        // What the ASP.NET Core integration gives HTTP functions to execute their IActionResult (it calls AddMvc).
        var mvc = new ServiceCollection();
        mvc.AddLogging();
        mvc.AddMvcCore();
        _mvc = mvc.BuildServiceProvider();
    }

    public async Task DisposeAsync()
    {
        // The site first: it lets held requests go, so no activity is left waiting on one when the worker stops.
        if (Site is not null)
        {
            await Site.DisposeAsync();
        }

        if (_durable is not null)
        {
            await _durable.DisposeAsync();
        }

        (_mvc as IDisposable)?.Dispose();
    }

    /// <summary>The app's function classes, activated from the worker's services as the Functions worker does.</summary>
    internal CrawlHttpFunctions HttpFunctions => ActivatorUtilities.CreateInstance<CrawlHttpFunctions>(Services);

    internal IntakeQueueFunction IntakeFunction => ActivatorUtilities.CreateInstance<IntakeQueueFunction>(Services);

    /// <summary><c>POST /api/crawls</c> through <see cref="CrawlHttpFunctions.SubmitCrawl"/>; the intake message, when
    /// there is one, is written to the queue as the queue output binding does.</summary>
    internal async Task<(HttpAnswer Answer, string? IntakeMessage)> PostAsync(byte[] body, long? contentLength = -1, Stream? bodyStream = null)
    {
        var context = NewContext("POST", "/api/crawls");
        context.Request.ContentType = "application/json";
        context.Request.Body = bodyStream ?? new MemoryStream(body);
        context.Request.ContentLength = contentLength == -1 ? body.Length : contentLength;
        var output = await HttpFunctions.SubmitCrawl(context.Request, Client, CancellationToken.None);
        if (output.IntakeMessage is { } message)
        {
            await WriteQueueOutputAsync(message);
        }

        return (await ExecuteAsync(context, output.HttpResponse), output.IntakeMessage);
    }

    internal Task<(HttpAnswer Answer, string? IntakeMessage)> PostAsync(string json) => PostAsync(Encoding.UTF8.GetBytes(json));

    internal Task<(HttpAnswer Answer, string? IntakeMessage)> PostAsync(object job) => PostAsync(JsonSerializer.SerializeToUtf8Bytes(job, Json));

    internal async Task<HttpAnswer> GetAsync(string id)
    {
        var context = NewContext("GET", $"/api/crawls/{id}");
        return await ExecuteAsync(context, await HttpFunctions.GetCrawl(context.Request, id, Client, CancellationToken.None));
    }

    internal async Task<HttpAnswer> DeleteAsync(string id)
    {
        var context = NewContext("DELETE", $"/api/crawls/{id}");
        return await ExecuteAsync(context, await HttpFunctions.CancelCrawl(context.Request, id, Client, CancellationToken.None));
    }

    /// <summary><c>GET /api/crawls/{id}/pages?url=...</c> through <see cref="CrawlHttpFunctions.GetCrawlPage"/>: the answer's
    /// bytes as they were written to the response (a problem answer's too).</summary>
    internal async Task<(int Status, IHeaderDictionary Headers, byte[] Body)> GetPageAsync(string id, string? url)
    {
        var context = NewContext("GET", $"/api/crawls/{id}/pages");
        if (url is not null)
        {
            context.Request.QueryString = QueryString.Create("url", url);
        }

        var result = await HttpFunctions.GetCrawlPage(context.Request, id, CancellationToken.None);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        return (context.Response.StatusCode, context.Response.Headers, ((MemoryStream)context.Response.Body).ToArray());
    }

    /// <summary>The raw text of the job's message on <c>crawl-intake</c> (removed from the queue), as stored in Azurite.</summary>
    internal async Task<string> TakeRawIntakeMessageAsync(string jobId)
    {
        var queue = new QueueClient(ConnectionString, IntakeQueue.Name);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var messages = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(1), deadline.Token)).Value;
            foreach (var message in messages)
            {
                // Earlier tests' messages are left-overs of this run; nothing else reads this queue here.
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, deadline.Token);
                if (DecodeBase64(message.MessageText) is { } text && JobTicket.TryParse(text)?.JobId == jobId)
                {
                    return message.MessageText;
                }
            }

            deadline.Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The message text the queue trigger gets: the extension decodes Base64 before binding a string.</summary>
    internal static string? DecodeBase64(string raw)
    {
        var bytes = new byte[raw.Length];
        return Convert.TryFromBase64String(raw, bytes, out var length) ? Encoding.UTF8.GetString(bytes, 0, length) : null;
    }

    /// <summary>Reads the job's message from the queue and gives it to the app's queue function, as the trigger does.</summary>
    internal async Task<string> DeliverIntakeAsync(string jobId)
    {
        var message = DecodeBase64(await TakeRawIntakeMessageAsync(jobId))!;
        await IntakeFunction.StartCrawl(message, Client, CancellationToken.None);
        return message;
    }

    internal async Task<OrchestrationMetadata> WaitForEndAsync(string instanceId)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, deadline.Token);
    }

    /// <summary>Submits, delivers the intake message and waits for the run to end.</summary>
    internal async Task<HttpAnswer> RunJobAsync(object job, string jobId)
    {
        var (answer, _) = await PostAsync(job);
        Assert.Equal(StatusCodes.Status202Accepted, answer.Status);
        await DeliverIntakeAsync(jobId);
        await WaitForEndAsync(jobId);
        return await GetAsync(jobId);
    }

    private static async Task WriteQueueOutputAsync(string message)
    {
        // The queue extension's output binding: Base64 (host.json extensions.queues.messageEncoding), queue created on demand.
        var queue = new QueueClient(await SharedAzurite.ConnectionStringAsync(), IntakeQueue.Name,
            new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(message);
    }

    private DefaultHttpContext NewContext(string method, string path)
    {
        var context = new DefaultHttpContext { RequestServices = _mvc! };
        context.Request.Method = method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = path;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static async Task<HttpAnswer> ExecuteAsync(DefaultHttpContext context, IActionResult result)
    {
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        var body = (MemoryStream)context.Response.Body;
        using var document = body.Length == 0 ? JsonDocument.Parse("null") : JsonDocument.Parse(body.ToArray());
        return new HttpAnswer(context.Response.StatusCode, context.Response.ContentType, context.Response.Headers.Location, document.RootElement.Clone());
    }
}
