using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Http2;

/// <summary>
/// A lean client for many long-lived gRPC streams on one HTTP/2 connection, for the watch fan-out
/// benchmark's watchers (of every target alike): one reader loop per connection hands each received
/// message to its stream's handler, which may answer with one message (an ACK); everything the
/// handlers answer during one read goes out in one send. Compared with a SocketsHttpHandler call per
/// watcher, this leaves the 2 cores to the servers, whose fan-out is what is measured. Connection
/// flow control is honoured both ways (RFC 9113 §6.9); response headers are not decoded: a stream
/// that ends or is reset while open is reported to its handler as a failure.
/// </summary>
internal sealed class LeanStreamConnection : IAsyncDisposable
{
    /// <summary>Our receive window for the connection and each stream: large, so that the server never waits on us.</summary>
    private const int ReceiveWindow = 1 << 30;

    private readonly Socket _socket;
    private readonly string _authority;
    private readonly ConcurrentDictionary<string, byte[]> _headerBlocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, LeanStream> _streams = new();
    private readonly TaskCompletionSource _settings = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly object _lock = new(); // guards the fields below
    private readonly Queue<(int StreamId, IMessage Message, int Size)> _blocked = new();
    private FrameBuffer _pending = new();
    private FrameBuffer _spare = new();
    private int _nextStreamId = 1;
    private long _sendWindow = Http2Wire.DefaultWindow;

    private LeanStreamConnection(Socket socket, string authority)
    {
        _socket = socket;
        _authority = authority;
    }

    /// <summary>Ends when the connection does: faults on a protocol error, completes when closed by <see cref="DisposeAsync"/>.</summary>
    public Task Reader { get; private set; } = Task.CompletedTask;

    /// <summary>Connects (h2c, prior knowledge) and waits for the server's SETTINGS.</summary>
    public static async Task<LeanStreamConnection> ConnectAsync(Uri address, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var connection = new LeanStreamConnection(socket, address.Authority);
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(address.Host, address.Port), cancellationToken);
            lock (connection._lock)
            {
                connection._pending.ClientPreface(ReceiveWindow);
            }
            await connection.FlushAsync(cancellationToken);
            connection.Reader = Task.Run(connection.ReadLoopAsync, CancellationToken.None);
            await connection._settings.Task.WaitAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Opens a stream to <paramref name="path"/> and sends <paramref name="first"/> on it. The reader
    /// calls <paramref name="onMessage"/> with each message the server sends, and sends what it returns
    /// (null: nothing); <paramref name="onFailed"/> hears once why the stream ended while open (the
    /// server ended or reset it, the connection failed, or <paramref name="onMessage"/> threw).
    /// </summary>
    public async Task OpenAsync(string path, IMessage first, Func<ReadOnlyMemory<byte>, IMessage?> onMessage, Action<Exception> onFailed, CancellationToken cancellationToken)
    {
        var headers = _headerBlocks.GetOrAdd(path, p => Http2Wire.GrpcRequestHeaders(p, _authority));
        lock (_lock)
        {
            var id = _nextStreamId;
            _nextStreamId += 2;
            _streams[id] = new LeanStream(onMessage, onFailed);
            _pending.Frame(Http2Wire.Headers, Http2Wire.EndHeaders, id, headers.Length);
            _pending.Append(headers);
            SendMessage(id, first);
        }
        await FlushAsync(cancellationToken);
    }

    /// <summary>Under the lock: queues a DATA frame, or holds it until the server's window takes it (in order).</summary>
    private void SendMessage(int streamId, IMessage message)
    {
        var size = Http2Wire.MessagePrefixSize + message.CalculateSize();
        if (_blocked.Count > 0 || _sendWindow < size)
        {
            _blocked.Enqueue((streamId, message, size));
            return;
        }
        _pending.Message(streamId, message, endStream: false);
        _sendWindow -= size;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            FrameBuffer sending;
            lock (_lock)
            {
                if (_pending.Length == 0)
                {
                    return;
                }
                (sending, _pending, _spare) = (_pending, _spare, _pending);
            }
            await sending.SendAsync(_socket, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[1 << 20];
        int start = 0, end = 0;
        long receivedSinceUpdate = 0;
        try
        {
            while (true)
            {
                if (end == buffer.Length)
                {
                    Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                var read = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, _closing.Token);
                if (read == 0)
                {
                    throw new IOException("The server closed the connection.");
                }
                end += read;
                while (end - start >= Http2Wire.FrameHeaderSize)
                {
                    var (length, type, flags, streamId) = Http2Wire.ReadFrameHeader(buffer.AsSpan(start));
                    if (end - start < Http2Wire.FrameHeaderSize + length)
                    {
                        break;
                    }
                    if (type == Http2Wire.Data)
                    {
                        receivedSinceUpdate += length;
                    }
                    OnFrame(type, flags, streamId, buffer.AsMemory(start + Http2Wire.FrameHeaderSize, length));
                    start += Http2Wire.FrameHeaderSize + length;
                }
                if (start == end)
                {
                    start = end = 0;
                }
                if (receivedSinceUpdate >= ReceiveWindow / 2)
                {
                    lock (_lock)
                    {
                        _pending.Frame(Http2Wire.WindowUpdate, 0, 0, 4);
                        _pending.UInt32((uint)receivedSinceUpdate);
                    }
                    receivedSinceUpdate = 0;
                }
                await FlushAsync(_closing.Token);
            }
        }
        catch (Exception) when (_closing.IsCancellationRequested)
        {
            // Closed by DisposeAsync.
        }
        catch (Exception ex)
        {
            _settings.TrySetException(ex);
            foreach (var id in _streams.Keys)
            {
                Fail(id, new IOException($"The connection failed: {ex.Message}", ex));
            }
            throw;
        }
    }

    private void OnFrame(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
    {
        switch (type)
        {
            case Http2Wire.Data when _streams.TryGetValue(streamId, out var stream):
                try
                {
                    stream.Messages.Append(payload, message =>
                    {
                        if (stream.OnMessage(message) is { } reply)
                        {
                            lock (_lock)
                            {
                                SendMessage(streamId, reply);
                            }
                        }
                    });
                }
                catch (Exception ex)
                {
                    Fail(streamId, ex, reset: true);
                    return;
                }
                if ((flags & Http2Wire.EndStream) != 0)
                {
                    Fail(streamId, new InvalidOperationException($"The server ended stream {streamId}."));
                }
                break;
            case Http2Wire.Headers when (flags & Http2Wire.EndStream) != 0:
                Fail(streamId, new InvalidOperationException($"The server ended stream {streamId} (trailers; an error status unless the call was over)."));
                break;
            case Http2Wire.RstStream:
                Fail(streamId, new InvalidOperationException($"The server reset stream {streamId} (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span)})."));
                break;
            case Http2Wire.GoAway:
                throw new InvalidOperationException($"The server sent GOAWAY (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span[4..])}).");
            case Http2Wire.Settings when (flags & Http2Wire.Ack) == 0:
                lock (_lock)
                {
                    _pending.Frame(Http2Wire.Settings, Http2Wire.Ack, 0, 0);
                }
                _settings.TrySetResult();
                break;
            case Http2Wire.Ping when (flags & Http2Wire.Ack) == 0:
                lock (_lock)
                {
                    _pending.Frame(Http2Wire.Ping, Http2Wire.Ack, 0, payload.Length);
                    _pending.Append(payload.Span);
                }
                break;
            case Http2Wire.WindowUpdate when streamId == 0:
                lock (_lock)
                {
                    _sendWindow += BinaryPrimitives.ReadUInt32BigEndian(payload.Span) & 0x7FFF_FFFF;
                    while (_blocked.TryPeek(out var next) && next.Size <= _sendWindow)
                    {
                        _blocked.Dequeue();
                        _pending.Message(next.StreamId, next.Message, endStream: false);
                        _sendWindow -= next.Size;
                    }
                }
                break;
        }
    }

    private void Fail(int streamId, Exception reason, bool reset = false)
    {
        if (!_streams.TryRemove(streamId, out var stream))
        {
            return;
        }
        if (reset)
        {
            lock (_lock)
            {
                _pending.Frame(Http2Wire.RstStream, 0, streamId, 4);
                _pending.UInt32(Http2Wire.Cancel);
            }
        }
        if (!_closing.IsCancellationRequested)
        {
            stream.OnFailed(reason);
        }
    }

    /// <summary>Closes the connection: the server sees every stream on it end at once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _socket.Dispose();
        try
        {
            await Reader;
        }
        catch (Exception)
        {
            // Reported to the streams already.
        }
        _closing.Dispose();
        _sending.Dispose();
    }

    private sealed class LeanStream(Func<ReadOnlyMemory<byte>, IMessage?> onMessage, Action<Exception> onFailed)
    {
        public MessageAssembler Messages { get; } = new();

        public Func<ReadOnlyMemory<byte>, IMessage?> OnMessage { get; } = onMessage;

        public Action<Exception> OnFailed { get; } = onFailed;
    }
}
