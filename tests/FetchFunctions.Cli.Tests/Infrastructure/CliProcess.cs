using System.Diagnostics;
using System.Text;

namespace FetchFunctions.Cli.Tests.Infrastructure;

/// <summary>The built CLI (<c>dotnet fetchfn.dll ...</c>) as a child process of the test, as a user runs it: its own
/// process, its own exit, killable. Storage variables of the test's environment are removed; the CLI's own Azurite
/// starts on free ports (<c>FETCHFN_AZURITE_PORTS=free</c>), never on the default emulator ports.</summary>
internal sealed class CliProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private CliProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    public static CliProcess Start(IEnumerable<string> args, IDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fetchfn.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "AZURE_STORAGE_CONNECTION_STRING", "AzureWebJobsStorage" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["FETCHFN_AZURITE_PORTS"] = "free";
        start.Environment["Fetch__RetryBaseDelay"] = "00:00:00.010";
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[key] = value;
        }

        return new CliProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start the CLI."));
    }

    /// <summary>Waits for the exit (with a deadline) and returns the exit code.</summary>
    public async Task<int> WaitAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The CLI did not exit in time. stdout: {Output} stderr: {Error}");
        }

        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up, as when it crashes or is killed by the OS.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);

        // Gone before Dispose looks, so Dispose never kills the children (the CLI's Azurite) itself.
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is not null)
        {
            lock (builder)
            {
                builder.AppendLine(line);
            }
        }
    }
}
