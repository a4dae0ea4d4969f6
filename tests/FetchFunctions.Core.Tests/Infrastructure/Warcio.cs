using System.Diagnostics;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>Webrecorder's warcio.js (a WARC reader this project did not write), installed from npm on first use into the
/// per-user cache beside Azurite, under a file lock so parallel test runs install it once.</summary>
internal static class Warcio
{
    public const string Version = "2.4.11";

    private static readonly Lazy<Task<string>> Script = new(InstallAsync);

    /// <summary>Runs <c>warcio &lt;arguments&gt;</c> and returns its standard output; a non-zero exit fails the test.</summary>
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(await Script.Value);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"warcio {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    private static async Task<string> InstallAsync()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var folder = Path.Combine(cache, "fetchfunctions", $"warcio-{Version}");
        var script = Path.Combine(folder, "node_modules", "warcio", "dist", "cli.js");
        if (File.Exists(script))
        {
            return script;
        }

        Directory.CreateDirectory(folder);
        await using var installLock = await AcquireLockAsync(Path.Combine(folder, ".install.lock"));
        if (File.Exists(script))
        {
            return script;
        }

        var npm = new ProcessStartInfo("npm") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "install", "--no-save", "--no-audit", "--no-fund", "--prefix", folder, $"warcio@{Version}" })
        {
            npm.ArgumentList.Add(argument);
        }

        using var install = Process.Start(npm)!;
        var stdout = install.StandardOutput.ReadToEndAsync();
        var stderr = install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (install.ExitCode != 0 || !File.Exists(script))
        {
            throw new InvalidOperationException($"npm could not install warcio@{Version} (exit {install.ExitCode}): {await stderr}{await stdout}");
        }

        return script;
    }

    private static async Task<FileStream> AcquireLockAsync(string path)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                // Another test process is installing: poll until it is done.
                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
        }
    }
}
