using System.Globalization;

namespace FetchFunctions.Benchmarks;

/// <summary>The benchmark's command line. Defaults are the sizes of issue 7; <c>--quick</c> is a smoke run with small sizes.</summary>
internal sealed record BenchOptions
{
    public static readonly string[] AllParts = ["fetch", "store", "big", "telemetry", "job", "durable", "plan", "hosts", "slow"];

    /// <summary>Parts run only when asked for.</summary>
    public static readonly string[] ExtraParts = ["profile", "bigjob", "frontier", "merge"];

    public int Runs { get; init; } = 3;
    public int Concurrency { get; init; } = 16;
    public int Pages { get; init; } = 10_000;
    public int StorePages { get; init; } = 2_000;
    public int Seconds { get; init; } = 3;
    public int PageBytes { get; init; } = 2 * 1024;
    public long BigBytes { get; init; } = 1024L * 1024 * 1024;
    public int JobUrls { get; init; } = 5_000;
    public int OneHostUrls { get; init; } = 10_000;
    public IReadOnlyList<int> PlanUrls { get; init; } = [1_000_000, 10_000_000];
    public int PlanHosts { get; init; } = 1_000;
    public int HostsUrls { get; init; } = 4_000;
    public int BigJobUrls { get; init; } = 1_000_000;
    public int FrontierUrls { get; init; } = 1_000_000;
    public int MergeParts { get; init; } = 20_000;
    public IReadOnlyList<string> Parts { get; init; } = AllParts;
    public string Output { get; init; } = Path.Combine("artifacts", "benchmark.json");
    public bool Quick { get; init; }

    public bool Includes(string part) => Parts.Contains(part, StringComparer.Ordinal);

    public const string Usage = """
        FetchFunctions benchmark: the engine and a whole job against bare baselines, on loopback, in one run.

        dotnet run -c Release --project bench/FetchFunctions.Benchmarks -- [options]

        Parts (default: all, in this order; rough durations of a default run on a quiet 2-core machine, about 15 min in
        all; a shared, loaded machine takes up to twice as long):
          fetch    1  small pages, engine vs bare HttpClient, discarding bodies; CPU per request with
                      default thread-pool spinning and with spinning limited (child processes)      ~1.5 min
          store    2  small pages into Azurite vs a bare SDK upload loop; client CPU per stored body
                      split into the engine's fetch and the upload, both spinning settings         ~2.5 min
          big      3  one 1 GiB body into Azurite vs a bare copy; peak RSS                           ~1 min
          telemetry 7 Core's spans and metrics priced: fetch-only and a small job, no listener
                       against a listener that samples everything                                  ~1 min
          job      4  a 50-host job, in-process runner vs a bare fetch-then-upload loop; overhead     ~3 min
                      then one host's 10,000 pages: WARC store, blobs store and the bare loop, with the
                      storage writes per 1,000 URLs each costs                                       ~3 min
          durable     the same job through the app's orchestrators and activities in the Durable
                      in-process test host vs the in-process runner                               ~3.5 min
          hosts    6  a 50-host job, host lanes vs round-robin batches                              ~3 min
          plan     5  planning 1,000,000 and 10,000,000 URLs (intake and the plan activity, each in
                      a child process for its peak RSS; orchestration logic over the plan)        ~5 min
          slow        one site, per-host 16: 1,000 pages of 20 ms, then with 1 % of them taking 5 s;
                      fetches in flight on the host against its limit (issue 19)                   ~2 min
          profile     (not in the default) the engine's client layer by layer, in process
          bigjob      (not in the default) a whole job of --big-job-urls URLs over the 50 hosts, in a
                      child process: wall time, URLs/s, peak RSS, storage requests per 1,000 URLs,
                      the summary checked against the results rows    ~1 h at 1,000,000 URLs
          frontier    (not in the default) planning one round of link discovery that finds
                      --frontier-urls new URLs, in a child process: time and peak RSS (issue 19)   ~2 min
          merge       (not in the default) the fan-in's index merge alone over --merge-parts index
                      parts of 50 lines (a 1,000,000-URL job has 20,000) (issue 20)               ~2 min

          --runs N            measured runs per figure (median, min, max); default 3
          --concurrency N     requests in flight for parts 1-2; default 16
          --pages N           small pages per run of part 1 at least; default 10000
          --store-pages N     small pages per run of part 2 at least; default 2000
          --seconds N         parts 1-2 run each side for at least N s per run (more pages if needed); default 3
          --page-bytes N      size of a small page; default 2048
          --big-bytes N       the big body of part 3 (suffixes KiB, MiB, GiB); default 1GiB
          --job-urls N        URLs of the 50-host job of parts 4 and durable; default 5000
          --one-host-urls N   URLs of part 4's one-host job (WARC store, blobs store, bare loop); default 10000
          --plan-urls N,...   job sizes planned in part 5, one after another; default 1000000,10000000
          --plan-hosts N      hosts the URLs of part 5 are spread over (a host table's worst case: as many as
                              URLs); default 1000
          --hosts-urls N      URLs of the 50-host job of part 6; default 4000
          --big-job-urls N    URLs of the bigjob part; default 1000000
          --frontier-urls N   new URLs of the frontier part's round; default 1000000
          --merge-parts N     index parts of the merge part; default 20000
          --parts LIST        comma-separated subset of fetch,store,big,telemetry,job,durable,plan,hosts,slow,profile,bigjob,
                              frontier,merge
          --out PATH          JSON report; default artifacts/benchmark.json
          --quick             smoke run of every part, about 2-3 min: 1 run, at least 1 s a side, 1000 pages
                              (store 300), 64 MiB body, 1000-URL jobs, 100000-URL plan
          --help              this text
        """;

    /// <summary>Parses the arguments; returns null and an error for bad input.</summary>
    public static (BenchOptions? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        var quick = args.Contains("--quick", StringComparer.Ordinal);
        var options = quick
            ? new BenchOptions
            {
                Quick = true, Runs = 1, Pages = 1_000, StorePages = 300, Seconds = 1, BigBytes = 64L * 1024 * 1024, JobUrls = 1_000, OneHostUrls = 2_000, PlanUrls = [100_000],
                HostsUrls = 1_000,
            }
            : new BenchOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name == "--quick")
            {
                continue;
            }

            if (i + 1 >= args.Count)
            {
                return (null, $"Unknown option or missing value: {name}");
            }

            var value = args[++i];
            try
            {
                options = name switch
                {
                    "--runs" => options with { Runs = Positive(value) },
                    "--concurrency" => options with { Concurrency = Positive(value) },
                    "--pages" => options with { Pages = Positive(value) },
                    "--store-pages" => options with { StorePages = Positive(value) },
                    "--seconds" => options with { Seconds = Positive(value) },
                    "--page-bytes" => options with { PageBytes = checked((int)Size(value)) },
                    "--big-bytes" => options with { BigBytes = Size(value) },
                    "--job-urls" => options with { JobUrls = Positive(value) },
                    "--one-host-urls" => options with { OneHostUrls = Positive(value) },
                    "--plan-urls" => options with { PlanUrls = [.. value.Split(',').Select(Positive)] },
                    "--plan-hosts" => options with { PlanHosts = Positive(value) },
                    "--hosts-urls" => options with { HostsUrls = Positive(value) },
                    "--big-job-urls" => options with { BigJobUrls = Positive(value) },
                    "--frontier-urls" => options with { FrontierUrls = Positive(value) },
                    "--merge-parts" => options with { MergeParts = Positive(value) },
                    "--parts" => options with { Parts = PartList(value) },
                    "--out" => options with { Output = value },
                    _ => throw new FormatException($"Unknown option: {name}"),
                };
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                return (null, $"{name} {value}: {ex.Message}");
            }
        }

        return (options, null);
    }

    private static int Positive(string value)
    {
        var number = int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
        return number > 0 ? number : throw new FormatException("must be a positive number.");
    }

    internal static long Size(string value)
    {
        var (digits, factor) = value switch
        {
            _ when value.EndsWith("GiB", StringComparison.OrdinalIgnoreCase) => (value[..^3], 1L << 30),
            _ when value.EndsWith("MiB", StringComparison.OrdinalIgnoreCase) => (value[..^3], 1L << 20),
            _ when value.EndsWith("KiB", StringComparison.OrdinalIgnoreCase) => (value[..^3], 1L << 10),
            _ => (value, 1L),
        };
        var size = checked(long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * factor);
        return size > 0 ? size : throw new FormatException("must be a positive size.");
    }

    private static string[] PartList(string value)
    {
        var parts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = parts.Except(AllParts.Concat(ExtraParts), StringComparer.Ordinal).ToArray();
        return unknown.Length == 0 && parts.Length > 0
            ? parts
            : throw new FormatException($"parts are {string.Join(',', AllParts.Concat(ExtraParts))}.");
    }
}
