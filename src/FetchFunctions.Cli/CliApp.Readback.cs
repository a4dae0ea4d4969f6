using System.CommandLine;
using FetchFunctions.Core.Warc;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace FetchFunctions.Cli;

/// <summary><c>get</c> and <c>export</c>: a job's stored pages read back (docs/cli.md), one Core call each.</summary>
internal sealed partial class CliApp
{
    private readonly Argument<string> _pageUrl = new("url") { Description = "The page's URL, as it was in the job (normalised as the job was: case of scheme and host, default port, fragment do not matter)." };
    private readonly Option<FileInfo?> _pageOutput = new("--output", "-o") { Description = "Write the body to this file (default: stdout)." };
    private readonly Option<bool> _decode = new("--decode") { Description = "Also undo the stored Content-Encoding (gzip, deflate, br); default: the body as the server sent it, of transfer coding undone." };
    private readonly Option<FileInfo> _wacz = new("--wacz") { Description = "The WACZ file to write (replaced if it exists).", Required = true };

    private void AddReadbackCommands(RootCommand root)
    {
        var get = new Command("get", "Write the stored body of one URL of a job to stdout or a file (exit 4 when the job holds none).");
        get.Arguments.Add(_statusJobId);
        get.Arguments.Add(_pageUrl);
        get.Options.Add(_pageOutput);
        get.Options.Add(_decode);
        get.Options.Add(_connectionString);
        get.Options.Add(_data);
        get.SetAction((parse, cancellationToken) => GetAsync(parse, cancellationToken));

        var export = new Command("export", "Write a job stored as WARC as a WACZ file (WARC files, CDXJ index, pages, datapackage.json) that replay tools such as ReplayWeb.page open.");
        export.Arguments.Add(_statusJobId);
        export.Options.Add(_wacz);
        export.Options.Add(_connectionString);
        export.Options.Add(_data);
        export.SetAction((parse, cancellationToken) => ExportAsync(parse, cancellationToken));

        root.Subcommands.Add(get);
        root.Subcommands.Add(export);
    }

    private async Task<int> GetAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var jobId = parse.GetValue(_statusJobId)!;
        var file = parse.GetValue(_pageOutput);
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        using var services = BuildCore(storage, [], NoSettings);
        var lookup = await services.GetRequiredService<IStoredPages>().OpenAsync(jobId, parse.GetValue(_pageUrl)!, parse.GetValue(_decode), cancellationToken);
        if (lookup.Page is not { } page)
        {
            error.MarkupLine($"[red]error:[/] {Markup.Escape(lookup.Detail)}");
            return lookup.Outcome == StoredPageOutcome.NotStored ? ExitCodes.NotFound : ExitCodes.InvalidInput;
        }

        await using (page)
        {
            if (file is null)
            {
                var stdout = (standardOutput ?? Console.OpenStandardOutput)();
                await using (stdout)
                {
                    await page.Body.CopyToAsync(stdout, cancellationToken);
                }

                return ExitCodes.Success;
            }

            var bytes = await WriteFileAsync(file, target => page.Body.CopyToAsync(target, cancellationToken), cancellationToken);
            output.MarkupLine($"Wrote {bytes} bytes of {Markup.Escape(page.Url)} (HTTP {page.Status}, {Markup.Escape(page.ContentType ?? "no Content-Type")}"
                + $"{(page.ContentEncoding is { } encoding ? $", Content-Encoding {Markup.Escape(encoding)}" : string.Empty)}) to {Markup.Escape(file.FullName)}.");
            return ExitCodes.Success;
        }
    }

    private async Task<int> ExportAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var jobId = parse.GetValue(_statusJobId)!;
        var file = parse.GetValue(_wacz)!;
        await using var storage = await LocateStorageAsync(parse, cancellationToken);
        using var services = BuildCore(storage, [], NoSettings);
        WaczExport? export = null;
        await WriteFileAsync(file, async target => export = await services.GetRequiredService<IStoredPages>().ExportWaczAsync(jobId, target, cancellationToken),
            cancellationToken, keep: () => export?.Outcome == WaczOutcome.Written);
        if (export!.Outcome != WaczOutcome.Written)
        {
            error.MarkupLine($"[red]error:[/] {Markup.Escape(export.Detail)}");
            return export.Outcome == WaczOutcome.NoSuchJob ? ExitCodes.NotFound : ExitCodes.InvalidInput;
        }

        output.MarkupLine($"Wrote {Markup.Escape(file.FullName)}: {export.WarcFiles} WARC file(s), {export.Pages} page(s), {export.Bytes} bytes of resources.");
        return ExitCodes.Success;
    }

    /// <summary>Writes through a temporary file beside <paramref name="file"/>, moved over it only once complete (and
    /// <paramref name="keep"/> says so): an interrupted or refused write leaves no half file, and an old file stays.</summary>
    private static async Task<long> WriteFileAsync(FileInfo file, Func<Stream, Task> write, CancellationToken cancellationToken, Func<bool>? keep = null)
    {
        var partial = file.FullName + ".partial";
        try
        {
            long length;
            var target = new FileStream(partial, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1024 * 1024, FileOptions.Asynchronous);
            await using (target)
            {
                await write(target);
                await target.FlushAsync(cancellationToken);
                length = target.Length;
            }

            if (keep?.Invoke() ?? true)
            {
                File.Move(partial, file.FullName, overwrite: true);
            }

            return length;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or DirectoryNotFoundException)
        {
            throw new CliInputException($"Cannot write '{file.FullName}': {ex.Message}");
        }
        finally
        {
            File.Delete(partial);
        }
    }
}
