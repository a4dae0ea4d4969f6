using System.Net;
using System.Net.Sockets;

namespace FetchFunctions.Core.Security;

/// <summary>Thrown when every address a host resolves to is blocked by the <see cref="AddressPolicy"/>.</summary>
internal sealed class AddressBlockedException(string message) : IOException(message);

/// <summary>Thrown when a host name does not resolve.</summary>
internal sealed class DnsFailureException(string message, SocketException inner) : IOException(message, inner)
{
    /// <summary>The resolver could not answer now ("try again"), as opposed to a name that does not exist.</summary>
    public bool IsTemporary => inner.SocketErrorCode is SocketError.TryAgain;
}

/// <summary>The <c>SocketsHttpHandler.ConnectCallback</c>: resolves the host itself, drops every address the policy
/// blocks and connects to exactly a validated address, so a DNS answer can never smuggle in a private target.</summary>
internal sealed class SsrfConnectGuard(AddressPolicy policy, TimeSpan connectTimeout, ConnectedAddresses? connected = null)
{
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var endpoint = context.DnsEndPoint;
        var addresses = await ResolveAsync(endpoint.Host, cancellationToken).ConfigureAwait(false);
        var allowed = new List<IPAddress>(addresses.Length);
        string? firstReason = null;
        foreach (var address in addresses)
        {
            var reason = policy.GetBlockReason(address);
            if (reason is null)
            {
                allowed.Add(address);
            }
            else
            {
                firstReason ??= $"{address} is {reason}";
            }
        }

        if (allowed.Count == 0)
        {
            throw new AddressBlockedException($"Blocked by policy: {endpoint.Host} resolves only to blocked addresses ({firstReason}).");
        }

        Exception? lastError = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(connectTimeout);
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), timeout.Token).ConfigureAwait(false);
                connected?.Record(endpoint.Host, endpoint.Port, address);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                lastError = new SocketException((int)SocketError.TimedOut);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                lastError = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw lastError!;
    }

    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(literal, out var address))
        {
            return [address];
        }

        try
        {
            return await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain)
        {
            throw new DnsFailureException($"DNS: {host} did not resolve ({ex.SocketErrorCode}).", ex);
        }
    }
}
