using System.Diagnostics;
using System.Text;

namespace FetchFunctions.Core.Tests.Infrastructure;

/// <summary>Webrecorder's warcio.js (npm, pinned), a WARC reader and writer the project did not write: installed on first
/// use into the per-user cache beside Azurite (under a file lock, so parallel test runs do not race), run with Node.</summary>
internal static class WarcioJs
{
    public const string Version = "2.4.11";

    /// <summary>Commands for the tests: <c>surt URL...</c> prints each URL's urlkey; <c>write OUT URL TYPE BODY...</c>
    /// writes a gzip WARC (warcinfo, then a response per triple) with warcio's serializer; <c>read FILE</c> prints one
    /// JSON line per record (type, target URI, payload as decoded by warcio).</summary>
    private const string Script = """
        import { WARCParser, WARCRecord, WARCSerializer, getSurt } from "warcio";
        import fs from "fs";
        const [cmd, ...args] = process.argv.slice(2);
        if (cmd === "surt") {
          for (const url of args) console.log(getSurt(url));
        } else if (cmd === "write") {
          const out = fs.openSync(args[0], "w");
          const info = await WARCRecord.createWARCInfo({ filename: "t.warc.gz", warcVersion: "WARC/1.1" }, { software: "warcio.js test" });
          fs.writeSync(out, await WARCSerializer.serialize(info, { gzip: true }));
          for (let i = 1; i + 2 < args.length; i += 3) {
            const [url, type, body] = args.slice(i, i + 3);
            async function* content() { yield new TextEncoder().encode(body); }
            const record = await WARCRecord.create({ url, date: "2026-12-05T12:00:00Z", type: "response", warcVersion: "WARC/1.1",
              httpHeaders: { "Content-Type": type } }, content());
            fs.writeSync(out, await WARCSerializer.serialize(record, { gzip: true }));
          }
          fs.closeSync(out);
        } else if (cmd === "read") {
          const parser = new WARCParser(fs.createReadStream(args[0]));
          for await (const record of parser) {
            const payload = new TextDecoder().decode(await record.readFully(true));
            console.log(JSON.stringify({ type: record.warcType, url: record.warcTargetURI ?? null, payload }));
          }
        }
        """;

    public static async Task<string> RunAsync(params string[] arguments)
    {
        var folder = await EnsureInstalledAsync();
        var script = Path.Combine(folder, $"tool-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Script)))[..12]}.mjs");
        if (!File.Exists(script))
        {
            var temporary = $"{script}.{Environment.ProcessId}.tmp";
            await File.WriteAllTextAsync(temporary, Script);
            File.Move(temporary, script, overwrite: true);
        }

        return await ToolAsync("node", [script, .. arguments]);
    }

    /// <summary>warcio.js's own command line (<c>index</c>, <c>cdx-index</c>).</summary>
    public static async Task<string> CliAsync(params string[] arguments)
    {
        var folder = await EnsureInstalledAsync();
        return await ToolAsync("node", [Path.Combine(folder, "node_modules", "warcio", "dist", "cli.js"), .. arguments]);
    }

    private static async Task<string> EnsureInstalledAsync()
    {
        var cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var folder = Path.Combine(cache, "fetchfunctions", $"warcio-{Version}");
        var installed = Path.Combine(folder, "node_modules", "warcio", "dist", "cli.js");
        if (File.Exists(installed))
        {
            return folder;
        }

        Directory.CreateDirectory(folder);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        FileStream? installLock = null;
        while (installLock is null)
        {
            try
            {
                installLock = new FileStream(Path.Combine(folder, ".install.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                // Another test run installs it: poll for the lock until the deadline.
                await Task.Delay(200, deadline.Token);
            }
        }

        await using (installLock)
        {
            if (!File.Exists(installed))
            {
                await ToolAsync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", folder, $"warcio@{Version}"]);
            }
        }

        return folder;
    }

    private static async Task<string> ToolAsync(string tool, string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await stdout
            : throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}");
    }
}
