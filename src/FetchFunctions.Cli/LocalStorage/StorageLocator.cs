using System.Net;
using System.Net.Sockets;
using Spectre.Console;

namespace FetchFunctions.Cli.LocalStorage;

/// <summary>Finds the storage to use: the --connection-string option, then AZURE_STORAGE_CONNECTION_STRING, then
/// AzureWebJobsStorage; otherwise local development storage, starting a pinned Azurite for the run when nothing answers.</summary>
internal sealed class StorageLocator(Func<string, string?> environment, IAnsiConsole error)
{
    public const int DefaultBlobPort = 10000;

    public async Task<LocatedStorage> LocateAsync(string? connectionString, string dataFolder, CancellationToken cancellationToken)
    {
        var configured = connectionString
            ?? environment("AZURE_STORAGE_CONNECTION_STRING")
            ?? environment("AzureWebJobsStorage");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new LocatedStorage(configured, null);
        }

        if (await AnswersAsync(DefaultBlobPort, cancellationToken))
        {
            return new LocatedStorage("UseDevelopmentStorage=true", null);
        }

        // The default emulator ports keep the data reachable by a later run; free ports are the fallback.
        var ports = new[] { DefaultBlobPort, DefaultBlobPort + 1, DefaultBlobPort + 2 };
        var useDefaults = ports.All(IsFree);
        error.MarkupLine($"[grey]No storage configured: starting Azurite {AzuriteProcess.Version} (data in {Markup.Escape(dataFolder)}) for this run.[/]");
        var azurite = useDefaults
            ? await AzuriteProcess.StartAsync(dataFolder, ports[0], ports[1], ports[2], TimeSpan.FromMinutes(3), cancellationToken)
            : await AzuriteProcess.StartAsync(dataFolder, 0, 0, 0, TimeSpan.FromMinutes(3), cancellationToken);
        return new LocatedStorage(azurite.ConnectionString, azurite);
    }

    private static async Task<bool> AnswersAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(500));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>The storage connection and, when the CLI started it, the Azurite to stop at exit.</summary>
internal sealed record LocatedStorage(string ConnectionString, AzuriteProcess? StartedAzurite) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        if (StartedAzurite is not null)
        {
            await StartedAzurite.DisposeAsync();
        }
    }
}
