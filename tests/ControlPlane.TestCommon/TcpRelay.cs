using System.Net;
using System.Net.Sockets;

namespace ControlPlane.TestCommon;

/// <summary>
/// A TCP relay on a free loopback port to <c>127.0.0.1:target</c>, which can be cut like a network
/// partition: while cut, connections stay open and nothing flows either way (what was sent waits, as
/// in the kernel's buffers while TCP retransmits), and connections opened meanwhile are accepted but
/// not carried; when restored, everything held flows on. Lets a test cut one client off a server
/// that others still reach.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _accepting;
    private TaskCompletionSource _open = NewOpen(open: true);

    private TcpRelay(int target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static TcpRelay Start(int targetPort) => new(targetPort);

    /// <summary>Stops carrying bytes, both ways, on every connection, until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        lock (_sockets)
        {
            if (_open.Task.IsCompleted)
            {
                _open = NewOpen(open: false);
            }
        }
    }

    public void Restore()
    {
        lock (_sockets)
        {
            _open.TrySetResult();
        }
    }

    private static TaskCompletionSource NewOpen(bool open)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (open)
        {
            gate.SetResult();
        }
        return gate;
    }

    private Task Gate()
    {
        lock (_sockets)
        {
            return _open.Task;
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                _ = CarryAsync(client);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task CarryAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_sockets)
        {
            _sockets.Add(client);
            _sockets.Add(server);
        }
        try
        {
            await Gate().WaitAsync(_stop.Token);
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                await Gate().WaitAsync(_stop.Token);
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }
                // Read just before a cut: held until the relay is restored.
                await Gate().WaitAsync(_stop.Token);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }
        await _accepting.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        _stop.Dispose();
    }
}
