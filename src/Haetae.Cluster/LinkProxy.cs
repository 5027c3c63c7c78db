using System.Net;
using System.Net.Sockets;

namespace Haetae.Cluster;

/// <summary>
/// One direction of a link between two sites: a TCP forwarder that one site's nats-server dials instead
/// of the other's route port. Cutting it drops every connection through it and refuses new ones, as a
/// severed fibre would; healing lets connections through again. Nothing is killed: the servers on both
/// sides keep running and notice the cut only through their own timeouts.
/// </summary>
internal sealed class LinkProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Inbound, TcpClient Outbound)> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    public LinkProxy(string fromSite, string toSite, IPEndPoint listen, IPEndPoint target)
    {
        From = fromSite;
        To = toSite;
        _target = target;
        _listener = new TcpListener(listen);
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    public string From { get; }

    public string To { get; }

    public bool IsCut => _cut;

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var (inbound, outbound) in _open)
            {
                inbound.Dispose();
                outbound.Dispose();
            }

            _open.Clear();
        }
    }

    public void Heal() => _cut = false;

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_cut)
            {
                inbound.Dispose();
                continue;
            }

            _ = ForwardAsync(inbound, cancellationToken);
        }
    }

    private async Task ForwardAsync(TcpClient inbound, CancellationToken cancellationToken)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_target, cancellationToken);
            lock (_open)
            {
                if (_cut)
                {
                    throw new SocketException((int)SocketError.ConnectionReset);
                }

                _open.Add((inbound, outbound));
            }

            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, cancellationToken), b.CopyToAsync(a, cancellationToken));
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The link was cut, or one side went away.
        }
        finally
        {
            lock (_open)
            {
                _open.Remove((inbound, outbound));
            }

            inbound.Dispose();
            outbound.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting;
        _stop.Dispose();
    }
}
