using System.Text.Json;

namespace FetchFunctions.Tests;

/// <summary>The function metadata the Functions SDK generates into the app's build output (what the host reads to bind
/// triggers) says what the README's table of functions says.</summary>
public sealed class FunctionsMetadataTests
{
    private static readonly Dictionary<string, string> TriggerNames = new(StringComparer.Ordinal)
    {
        ["HTTP"] = "httpTrigger",
        ["queue"] = "queueTrigger",
        ["orchestration"] = "orchestrationTrigger",
        ["activity"] = "activityTrigger",
    };

    /// <summary>One row of the README's table, or of the metadata in the same terms.</summary>
    private sealed record FunctionRow(string Name, string Trigger, string Target, string Methods, string Authorization, string Connection, string Output);

    private static DirectoryInfo RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Functions.sln")))
            {
                return directory;
            }
        }

        throw new InvalidOperationException("Functions.sln not found above the test's folder.");
    }

    /// <summary>The app's own output folder for the configuration this test was built in (bin/{Configuration}/net10.0).</summary>
    private static string AppOutput()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Path.Combine(RepositoryRoot().FullName, "src", "FetchFunctions", "bin", output.Parent!.Name, output.Name);
    }

    private static List<FunctionRow> ReadmeRows()
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot().FullName, "README.md"));
        var start = Array.FindIndex(lines, line => line.StartsWith("### The functions", StringComparison.Ordinal));
        Assert.True(start >= 0, "README has no '### The functions' section.");
        return lines.Skip(start + 1)
            .SkipWhile(line => !line.StartsWith('|'))
            .TakeWhile(line => line.StartsWith('|'))
            .Skip(2)
            .Select(line => line.Trim('|').Split('|').Select(cell => cell.Replace("`", string.Empty, StringComparison.Ordinal).Trim()).ToArray())
            .Select(cells => new FunctionRow(cells[0], TriggerNames[cells[1]], cells[2], cells[3], cells[4], cells[5], cells[6]))
            .ToList();
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() ?? string.Empty : string.Empty;

    private static List<FunctionRow> MetadataRows(JsonElement metadata) =>
        [.. metadata.EnumerateArray().Select(function =>
        {
            var bindings = function.GetProperty("bindings").EnumerateArray().ToList();
            var trigger = bindings.Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            var type = trigger.GetProperty("type").GetString()!;
            var methods = trigger.TryGetProperty("methods", out var m) ? string.Join(", ", m.EnumerateArray().Select(x => x.GetString()!.ToUpperInvariant())) : string.Empty;
            var queueOutput = bindings.SingleOrDefault(b => b.GetProperty("type").GetString() == "queue" && b.GetProperty("direction").GetString() == "Out");
            var queueBinding = type == "queueTrigger" ? trigger : queueOutput;
            return new FunctionRow(
                function.GetProperty("name").GetString()!,
                type,
                type == "httpTrigger" ? Text(trigger, "route") : Text(trigger, "queueName"),
                methods,
                Text(trigger, "authLevel"),
                queueBinding.ValueKind == JsonValueKind.Object ? Text(queueBinding, "connection") : string.Empty,
                queueOutput.ValueKind == JsonValueKind.Object ? $"queue {Text(queueOutput, "queueName")}" : string.Empty);
        })];

    [Fact]
    public void FunctionsMetadata_InTheAppsBuildOutput_MatchesTheReadmeTable()
    {
        var path = Path.Combine(AppOutput(), "functions.metadata");
        Assert.True(File.Exists(path), $"{path} is missing: the Functions SDK's metadata generation did not run.");
        using var metadata = JsonDocument.Parse(File.ReadAllText(path));

        var documented = ReadmeRows();
        var generated = MetadataRows(metadata.RootElement);

        Assert.Equal(12, generated.Count);
        Assert.Equal(documented.OrderBy(r => r.Name, StringComparer.Ordinal), generated.OrderBy(r => r.Name, StringComparer.Ordinal));
    }

    [Fact]
    public void AppDependencies_NeverIncludeAspNetWebApiClient()
    {
        // Only the SDK's generated extension project (the host-side payload) may pull it in; the worker must not.
        var deps = File.ReadAllText(Path.Combine(AppOutput(), "FetchFunctions.deps.json"));

        Assert.Contains("Microsoft.Azure.Functions.Worker", deps, StringComparison.Ordinal);
        Assert.DoesNotContain("Microsoft.AspNet.WebApi.Client", deps, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BuildOutput_HoldsTheExtensionPayloadAndHostJson()
    {
        Assert.True(Directory.Exists(Path.Combine(AppOutput(), ".azurefunctions")), "The Functions SDK's extension payload is missing.");
        Assert.True(File.Exists(Path.Combine(AppOutput(), "host.json")));
    }
}
