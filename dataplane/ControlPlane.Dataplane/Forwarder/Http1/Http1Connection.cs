using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// One HTTP/1.1 connection to an instance: the socket, a <see cref="PipeReader"/> the response is
/// parsed from and a <see cref="PipeWriter"/> the request is written into. It carries one exchange
/// at a time (no pipelining). While it waits in the pool a read is kept pending, so a connection
/// the instance closed (or sent stray bytes on) is seen before it is handed out, without a syscall
/// of its own; the next exchange takes that read over as its first.
/// </summary>
internal sealed class Http1Connection
{
    // Large enough for a usual response head and a small body in one read.
    private const int ReadBufferSize = 8 * 1024;
    private const int WriteBufferSize = 4 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private ValueTask<ReadResult> _idleRead;
    private bool _hasIdleRead;
    private int _aborted;

    private Http1Connection(Socket socket, long createdAt)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: ReadBufferSize / 4, leaveOpen: true));
        Writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: WriteBufferSize, leaveOpen: true));
        CreatedAt = createdAt;
    }

    public PipeReader Reader { get; }

    public PipeWriter Writer { get; }

    /// <summary>When it was connected (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long CreatedAt { get; }

    /// <summary>When it last went back to the pool.</summary>
    public long IdleSince { get; private set; }

    /// <summary>It carried an exchange before: a failure before any response byte may mean the instance closed it meanwhile.</summary>
    public bool IsReused { get; private set; }

    /// <summary><see cref="Abort"/> was called: the exchange on it was cancelled.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>The last values of well-known response fields, so a repeated value is not allocated again.</summary>
    public string?[] KnownValues { get; } = new string?[Http1KnownHeaders.Count];

    /// <summary>Response fields of the exchange in progress (head, then trailers); reused.</summary>
    public List<KeyValuePair<string, string>> Fields { get; } = new(16);

    /// <summary>Connects; failures become <see cref="UpstreamConnectException"/> (nothing was sent, so a retry elsewhere is safe).</summary>
    public static async ValueTask<Http1Connection> ConnectAsync(DnsEndPoint endpoint, TimeSpan connectTimeout, long now, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(connectTimeout);
        using var link = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), timeout);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            return new Http1Connection(socket, now);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left or the request timed out: not the instance's fault.
            socket.Dispose();
            throw;
        }
        catch (OperationCanceledException ex)
        {
            socket.Dispose();
            throw new UpstreamConnectException(endpoint, timedOut: true, ex);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new UpstreamConnectException(endpoint, timedOut: false, ex);
        }
    }

    /// <summary>Starts the idle read and stamps the time; called as it goes back to the pool.</summary>
    public void Park(long now)
    {
        IsReused = true;
        IdleSince = now;
        try
        {
            _idleRead = Reader.ReadAsync();
            _hasIdleRead = true;
        }
        catch (Exception)
        {
            Abort();
        }
    }

    /// <summary>
    /// Whether the parked connection can carry another exchange: the instance has neither closed it
    /// nor sent anything (a response to nothing is a protocol error), and it is within its limits.
    /// </summary>
    public bool IsUsable(long now, long idleTimeoutTicks, long lifetimeTicks) =>
        !IsAborted
        && !(_hasIdleRead && _idleRead.IsCompleted)
        && (idleTimeoutTicks < 0 || now - IdleSince < idleTimeoutTicks)
        && (lifetimeTicks < 0 || now - CreatedAt < lifetimeTicks);

    /// <summary>The exchange's first read: the pending idle read when there is one.</summary>
    public ValueTask<ReadResult> ReadAsync()
    {
        if (_hasIdleRead)
        {
            _hasIdleRead = false;
            var read = _idleRead;
            _idleRead = default;
            return read;
        }
        return Reader.ReadAsync();
    }

    /// <summary>Breaks the connection off: pending reads and writes fail. Safe from any thread, any number of times.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    /// <summary>Closes it for good (nothing may be using it but a pending idle read).</summary>
    public void Dispose()
    {
        Abort();
        if (_hasIdleRead)
        {
            _hasIdleRead = false;
            _ = CompleteAfterAsync(_idleRead);
            return;
        }
        Complete();
    }

    private async Task CompleteAfterAsync(ValueTask<ReadResult> read)
    {
        try
        {
            var result = await read.ConfigureAwait(false);
            Reader.AdvanceTo(result.Buffer.End);
        }
        catch (Exception)
        {
            // The socket is closed; the read fails as it should.
        }
        Complete();
    }

    private void Complete()
    {
        // Gives the pipes' buffers back; the writer's leftover (an aborted request) is not sent: the socket is gone.
        try
        {
            Reader.Complete();
        }
        catch (Exception)
        {
        }
        try
        {
            Writer.Complete();
        }
        catch (Exception)
        {
        }
        _stream.Dispose();
    }
}
