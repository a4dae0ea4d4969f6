using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FetchFunctions.Core.Jobs;

namespace FetchFunctions.Core.Orchestration;

/// <summary>A plan's fingerprint (<see cref="CrawlPlan.PlanId"/>), computed while the job's URLs stream past: SHA-256
/// (first 128 bits, hex) over the job's effective settings, what the operator's settings and the planner's rules make of
/// them (batches per shard, hosts per lane, partitions, <see cref="CrawlPlanner.RulesVersion"/>) and the job's URLs in list
/// order. The layout is a function of exactly these, so a change of any (the job's, the operator's or the planner's own
/// rules) is another plan, whose manifests and results are not mixed with this one's; the submission time is left out, so
/// the same job submitted again has the same plan.</summary>
internal sealed class PlanFingerprint : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    // URLs are hashed a buffer at a time: one call per URL would cost more than the hashing itself.
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _length;

    public PlanFingerprint(JobSettings settings, int batchesPerShard, int hostsPerLane, int partitions)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(settings, CrawlJsonContext.Default.JobSettings));
        _hash.AppendData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"\n{batchesPerShard}\n{hostsPerLane}\n{partitions}\n{CrawlPlanner.RulesVersion}\n")));
    }

    /// <summary>Adds the next URL of the list (no URL is empty or holds a line break, so the lines delimit them).</summary>
    public void AddUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var needed = Encoding.UTF8.GetMaxByteCount(url.Length) + 1;
        if (_buffer.Length - _length < needed)
        {
            Flush();
        }

        if (needed > _buffer.Length)
        {
            _hash.AppendData(Encoding.UTF8.GetBytes(url + "\n"));
            return;
        }

        _length += Encoding.UTF8.GetBytes(url, _buffer.AsSpan(_length));
        _buffer[_length++] = (byte)'\n';
    }

    /// <summary>Adds the next URL of the list as the UTF-8 bytes of its line: the same bytes <see cref="AddUrl(string)"/>
    /// hashes for the decoded line, when the line is valid UTF-8 (otherwise it is decoded, as a text reader would).</summary>
    public void AddUrl(ReadOnlySpan<byte> utf8Url)
    {
        if (!Utf8.IsValid(utf8Url))
        {
            AddUrl(Encoding.UTF8.GetString(utf8Url));
            return;
        }

        if (_buffer.Length - _length < utf8Url.Length + 1)
        {
            Flush();
        }

        if (utf8Url.Length + 1 > _buffer.Length)
        {
            _hash.AppendData(utf8Url);
            _hash.AppendData("\n"u8);
            return;
        }

        utf8Url.CopyTo(_buffer.AsSpan(_length));
        _length += utf8Url.Length;
        _buffer[_length++] = (byte)'\n';
    }

    public string Finish()
    {
        Flush();
        return Convert.ToHexStringLower(_hash.GetHashAndReset().AsSpan(0, 16));
    }

    public void Dispose() => _hash.Dispose();

    private void Flush()
    {
        _hash.AppendData(_buffer, 0, _length);
        _length = 0;
    }
}
