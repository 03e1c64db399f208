using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ControlPlane.Dataplane.Tests.Forwarder.Http1;

/// <summary>
/// An upstream instance that speaks HTTP/1.1 by hand on a loopback socket, so a test can send
/// exactly the bytes a broken or hostile server would (a bad status line, endless headers, a
/// chunk size that is not hex, a body cut short) and see what the proxy does with its
/// connections. Each accepted connection runs <c>serve</c>; <see cref="Heads"/> keeps every
/// request head read through <see cref="RawConnection.ReadHeadAsync"/>.
/// </summary>
public sealed class RawUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<RawConnection, Task> _serve;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(RawConnection Connection, Task Serving)> _connections = [];
    private readonly Task _accepting;
    private int _accepted;

    private RawUpstream(Func<RawConnection, Task> serve)
    {
        _serve = serve;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Request heads received, in order, across connections.</summary>
    public ConcurrentQueue<string> Heads { get; } = new();

    /// <summary>Connections the proxy closed (its end of the socket reached EOF while <c>serve</c> waited for a request).</summary>
    public ConcurrentQueue<int> ClosedByProxy { get; } = new();

    /// <summary>Completes when the first connection ends (either side closed it), with its number.</summary>
    public TaskCompletionSource<int> FirstClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static RawUpstream Start(Func<RawConnection, Task> serve) => new(serve);

    /// <summary>Answers every request on a connection with <paramref name="response"/> (sent as is), keeping the connection open.</summary>
    public static RawUpstream Answering(string response) => Start(async c =>
    {
        while (await c.ReadHeadAsync() is not null)
        {
            await c.WriteAsync(response);
        }
    });

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            var number = Interlocked.Increment(ref _accepted);
            var connection = new RawConnection(this, tcp, number);
            lock (_connections)
            {
                _connections.Add((connection, RunAsync(connection)));
            }
        }
    }

    private async Task RunAsync(RawConnection connection)
    {
        try
        {
            await _serve(connection);
        }
        catch (Exception)
        {
            // The proxy closed or reset it: part of what the tests provoke.
        }
        finally
        {
            connection.Dispose();
            FirstClosed.TrySetResult(connection.Number);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.DefaultTimeout();
        (RawConnection Connection, Task Serving)[] running;
        lock (_connections)
        {
            running = [.. _connections];
        }
        // Closing the sockets ends every serve still waiting on one (its failure is swallowed by RunAsync).
        foreach (var (connection, _) in running)
        {
            connection.Dispose();
        }
        await Task.WhenAll(running.Select(r => r.Serving)).DefaultTimeout();
        _stop.Dispose();
    }

    /// <summary>One accepted connection, read and written by hand.</summary>
    public sealed class RawConnection(RawUpstream owner, TcpClient tcp, int number) : IDisposable
    {
        private readonly NetworkStream _stream = NoDelay(tcp).GetStream();
        private ByteReader? _reader;

        private ByteReader Reader => _reader ??= new ByteReader(_stream);

        /// <summary>1 for the first connection accepted, and so on.</summary>
        public int Number { get; } = number;

        /// <summary>Reads one request head (without the blank line); null when the proxy closed the connection first.</summary>
        public async Task<string?> ReadHeadAsync()
        {
            if (await Reader.ReadUntilAsync("\r\n\r\n"u8.ToArray()) is not { } bytes)
            {
                owner.ClosedByProxy.Enqueue(Number);
                return null;
            }
            var head = Encoding.ASCII.GetString(bytes);
            owner.Heads.Enqueue(head);
            return head;
        }

        /// <summary>Reads exactly <paramref name="count"/> body bytes.</summary>
        public async Task<byte[]> ReadBytesAsync(int count) =>
            await Reader.ReadExactlyAsync(count) ?? throw new IOException("The proxy closed the connection mid-body.");

        /// <summary>Reads a chunked request body (no trailers expected).</summary>
        public async Task<byte[]> ReadChunkedAsync()
        {
            var body = new List<byte>();
            while (true)
            {
                var line = await ReadLineAsync();
                var size = Convert.ToInt32(line.Split(';')[0], 16);
                if (size == 0)
                {
                    await ReadLineAsync();
                    return [.. body];
                }
                body.AddRange(await ReadBytesAsync(size));
                await ReadLineAsync();
            }
        }

        /// <summary>Writes <paramref name="text"/> as Latin-1 (one byte per character, so a test can send any byte).</summary>
        public Task WriteAsync(string text) => WriteAsync(Encoding.Latin1.GetBytes(text));

        public async Task WriteAsync(byte[] bytes)
        {
            await _stream.WriteAsync(bytes).DefaultTimeout();
            await _stream.FlushAsync().DefaultTimeout();
        }

        /// <summary>Waits until the proxy closes its end; true when it did (false: it sent more bytes).</summary>
        public async Task<bool> WaitForCloseAsync() => Reader.Buffered == 0 && !await Reader.FillAsync();

        private async Task<string> ReadLineAsync() =>
            Encoding.ASCII.GetString(await Reader.ReadUntilAsync("\r\n"u8.ToArray()) ?? throw new IOException("The proxy closed the connection mid-line."));

        /// <summary>Writes <paramref name="text"/> a byte at a time, each flushed on its own (Nagle is off): the proxy sees it in many small reads.</summary>
        public async Task TrickleAsync(string text)
        {
            foreach (var b in Encoding.Latin1.GetBytes(text))
            {
                await WriteAsync([b]);
            }
        }

        private static TcpClient NoDelay(TcpClient tcp)
        {
            tcp.NoDelay = true;
            return tcp;
        }

        public void Dispose()
        {
            _stream.Dispose();
            tcp.Dispose();
        }
    }
}
