using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Robots;

/// <summary>Keeps a robots.txt body in memory instead of storing it: reads at most <see cref="RobotsParser.MaxBytes"/>
/// and stops there (RFC 9309 2.5), leaving the rest unread. One instance per fetch.</summary>
internal sealed class RobotsBodySink : IRecordSink
{
    private readonly byte[] _buffer = new byte[RobotsParser.MaxBytes];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, Length);

    public bool RecordsExchanges => false;

    public Task RecordHopAsync(RecordWrite hop, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<BodyLocation?> StoreAsync(RecordWrite write, BodyMeterStream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        Length = 0;
        while (Length < _buffer.Length)
        {
            var read = await body.ReadAsync(_buffer.AsMemory(Length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            Length += read;
        }

        return null;
    }

    public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;
}
