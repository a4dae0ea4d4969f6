using FetchFunctions.Core.Fetching;
using FetchFunctions.Core.Storage;

namespace FetchFunctions.Core.Robots;

/// <summary>Keeps a robots.txt body in memory instead of storing it: reads at most <see cref="RobotsParser.MaxBytes"/>
/// and stops there (RFC 9309 2.5), leaving the rest unread. One instance per fetch.</summary>
internal sealed class RobotsBodySink : IBodySink
{
    private readonly byte[] _buffer = new byte[RobotsParser.MaxBytes];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Content => _buffer.AsSpan(0, Length);

    public async Task StoreAsync(BodyWrite write, BodyMeterStream body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        Length = 0;
        while (Length < _buffer.Length)
        {
            var read = await body.ReadAsync(_buffer.AsMemory(Length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return;
            }

            Length += read;
        }
    }

    public Task DeleteAsync(string blobName, CancellationToken cancellationToken) => Task.CompletedTask;
}
