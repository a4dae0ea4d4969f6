using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace FetchFunctions.Cli.LocalStorage;

/// <summary>A pinned Azurite started as a child process on loopback, installed from npm on first use into a per-user cache.
/// Used by the CLI (when no storage is configured) and by the tests.</summary>
internal sealed partial class AzuriteProcess : IAsyncDisposable
{
    public const string Version = "3.35.0";

    // Azurite's published development account; it is not a secret (the emulator accepts nothing else).
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly Lazy<Task<bool>> _stop;

    private AzuriteProcess(Process process, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        _stop = new Lazy<Task<bool>>(StopGracefullyAsync);
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    /// <summary>The node process's id (the benchmark reads its CPU time from /proc).</summary>
    public int ProcessId => _process.Id;

    public int BlobPort { get; }
    public int QueuePort { get; }
    public int TablePort { get; }

    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};QueueEndpoint=http://127.0.0.1:{queuePort}/{AccountName};TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};");

    /// <summary>Starts Azurite. <paramref name="dataFolder"/> null keeps everything in memory; ports 0 pick free ones.</summary>
    public static async Task<AzuriteProcess> StartAsync(string? dataFolder, int blobPort, int queuePort, int tablePort, TimeSpan startTimeout, CancellationToken cancellationToken)
    {
        var script = await EnsureInstalledAsync(cancellationToken).ConfigureAwait(false);
        var start = new ProcessStartInfo("node")
        {
            // Our end of this pipe closes when this process ends, however it ends (even killed): the watcher then ends Azurite.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--require");
        start.ArgumentList.Add(WriteParentWatcher(InstallFolder()));
        start.ArgumentList.Add(script);
        if (dataFolder is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(dataFolder);
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(dataFolder);
        }

        // Without --disableTelemetry Azurite tries to reach an outside host.
        foreach (var argument in new[] { "--disableTelemetry", "--skipApiVersionCheck", "--loose" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (service, port) in new[] { ("blob", blobPort), ("queue", queuePort), ("table", tablePort) })
        {
            start.ArgumentList.Add($"--{service}Host");
            start.ArgumentList.Add("127.0.0.1");
            start.ArgumentList.Add($"--{service}Port");
            start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        }

        var process = StartTool(start, "node");
        var ports = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        // True once all three services listen; false when Azurite's output ended first (it exited).
        var allListening = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                allListening.TrySetResult(false);
                return;
            }

            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                lock (ports)
                {
                    ports[match.Groups["service"].Value] = int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture);
                    if (ports.Count == 3)
                    {
                        allListening.TrySetResult(true);
                    }
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool listening;
        try
        {
            listening = await allListening.Task.WaitAsync(startTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Stop(process);
            throw new InvalidOperationException($"Azurite did not listen within {startTimeout.TotalSeconds:0} s: {errors}");
        }
        catch
        {
            Stop(process);
            throw;
        }

        if (!listening)
        {
            // Stop waits for the exit and so for the rest of its error output, which says why.
            Stop(process);
            throw ExitedBeforeListening(errors.ToString());
        }

        return new AzuriteProcess(process, ports["Blob"], ports["Queue"], ports["Table"]);
    }

    /// <summary>Azurite exits with "listen EADDRINUSE" when a port it was given is taken: the failure then wraps a
    /// <see cref="SocketException"/> with <see cref="SocketError.AddressAlreadyInUse"/>, so a caller that chose the ports
    /// can tell it from any other failure and choose again.</summary>
    internal static InvalidOperationException ExitedBeforeListening(string errors) =>
        new($"Azurite exited before listening: {errors}",
            errors.Contains("EADDRINUSE", StringComparison.Ordinal) ? new SocketException((int)SocketError.AddressAlreadyInUse) : null);

    /// <summary>The child process, for tests that end it the way a vanished parent would.</summary>
    internal Process ChildProcess => _process;

    /// <summary>Writes the script node loads before Azurite. Standard input ends when the process that started Azurite
    /// is gone (closed by <see cref="StopAsync"/>, or by the OS when the starter was killed): the script then sends
    /// Azurite the SIGTERM it stops on, which closes its services and saves its blob index to disk (Azurite persists
    /// that index only every few seconds otherwise, so a killed Azurite loses the latest writes). Once Azurite has been
    /// asked to stop (by the script or by a signal), standard input no longer keeps the process alive, and a deadline
    /// ends it if closing hangs. SIGINT (a terminal's Ctrl+C, which reaches the whole process group) is ignored: the
    /// starter finishes its own cancellation against a running Azurite and then stops it. A killed starter also leaves Azurite's output pipes without a reader: writing to them
    /// fails (EPIPE), which must not crash Azurite before it has saved.</summary>
    private static string WriteParentWatcher(string folder)
    {
        const string Watcher = """
            process.stdout.on('error', () => {});
            process.stderr.on('error', () => {});
            let stopping = false;
            function stopRequested() {
              if (stopping) return;
              stopping = true;
              process.stdin.destroy();
              setTimeout(() => process.exit(0), 30000).unref();
            }
            process.once('SIGTERM', stopRequested);
            // Ctrl+C in a terminal reaches Azurite too (one process group): the starter, not the terminal, decides when
            // Azurite stops, so Azurite's own SIGINT handler (installed with process.once) is left out and SIGINT ignored.
            const once = process.once;
            process.once = function (event, listener) { return event === 'SIGINT' ? this : once.call(this, event, listener); };
            process.on('SIGINT', () => {});
            function starterGone() {
              if (stopping) return;
              // Azurite is not listening for signals yet (still starting): nothing written, nothing to save.
              if (process.listenerCount('SIGTERM') <= 1) process.exit(0);
              process.kill(process.pid, 'SIGTERM');
            }
            process.stdin.on('end', starterGone);
            process.stdin.on('error', starterGone);
            process.stdin.resume();
            """;
        // Named by its content: another version of the CLI (another checkout) sharing this cache keeps its own.
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Watcher)))[..12];
        var path = Path.Combine(folder, $"exit-with-parent-{hash}.js");
        if (!File.Exists(path) || File.ReadAllText(path) != Watcher)
        {
            // Written aside and moved, so that a parallel start never loads a half-written file.
            var temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temporary, Watcher);
            File.Move(temporary, path, overwrite: true);
        }

        return path;
    }

    /// <summary>Installs the pinned Azurite into the per-user cache once (npm, under a file lock so parallel test runs
    /// do not race) and returns the path of its entry script.</summary>
    public static async Task<string> EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var folder = InstallFolder();
        var script = Path.Combine(folder, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (File.Exists(script))
        {
            return script;
        }

        Directory.CreateDirectory(folder);
        await using var installLock = await AcquireLockAsync(Path.Combine(folder, ".install.lock"), cancellationToken).ConfigureAwait(false);
        if (File.Exists(script))
        {
            return script;
        }

        var npm = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "install", "--no-save", "--no-audit", "--no-fund", "--prefix", folder, $"azurite@{Version}" })
        {
            npm.ArgumentList.Add(argument);
        }

        using var install = StartTool(npm, "npm");
        var stdout = install.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = install.StandardError.ReadToEndAsync(cancellationToken);
        await install.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (install.ExitCode != 0 || !File.Exists(script))
        {
            throw new InvalidOperationException($"npm could not install azurite@{Version} (exit {install.ExitCode}): {await stderr.ConfigureAwait(false)}{await stdout.ConfigureAwait(false)}");
        }

        return script;
    }

    private static string InstallFolder()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "fetchfunctions", $"azurite-{Version}");
    }

    /// <summary>Starts a tool from the PATH; a missing one is an infrastructure failure with a message that says so.</summary>
    private static Process StartTool(ProcessStartInfo start, string tool)
    {
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {tool}.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not start {tool} ({ex.Message}): Azurite needs Node.js with npm on the PATH.", ex);
        }
    }

    private static async Task<FileStream> AcquireLockAsync(string path, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                // Another process is installing; poll until it is done.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200), timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new InvalidOperationException($"Another process has held {path} for 5 minutes; delete it if no install is running.");
                }
            }
        }
    }

    /// <summary>Ends a process that has nothing to save (it never started listening).</summary>
    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        process.WaitForExit(10_000);
        process.Dispose();
    }

    /// <summary>How long a graceful stop may take before Azurite is killed (it saves its blob index while closing).</summary>
    public static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Stops Azurite gracefully: closing its standard input makes the watcher script send it SIGTERM, on which
    /// it closes its services and saves what it holds; only after <see cref="GracefulStopTimeout"/> is it killed.
    /// True when it stopped by itself.</summary>
    public Task<bool> StopAsync() => _stop.Value;

    private async Task<bool> StopGracefullyAsync()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The pipe is already broken: Azurite is gone or going.
        }

        using var deadline = new CancellationTokenSource(GracefulStopTimeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            Stop(_process);
            return false;
        }
    }

    /// <summary>The synchronous form of <see cref="StopAsync"/>, for process-exit handlers.</summary>
    public void Stop() => StopAsync().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process.Dispose();
    }

    [GeneratedRegex(@"Azurite (?<service>Blob|Queue|Table) service is successfully listening at http://[^:]+:(?<port>\d+)")]
    private static partial Regex ListeningLine();
}
