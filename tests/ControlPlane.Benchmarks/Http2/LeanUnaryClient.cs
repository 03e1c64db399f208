using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ControlPlane.Benchmarks.Measurement;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Http2;

/// <summary>
/// A lean load generator for unary gRPC calls, in the role h2load plays in the gRPC runtime
/// benchmark, for calls whose body must differ every time (h2load posts one body): one HTTP/2
/// connection over a plain socket (RFC 9113), up to <c>concurrency</c> streams in flight, each
/// answered stream replaced by a new one, every write of a read's worth of new streams in one send.
/// It encodes request headers once (HPACK without the dynamic table: RFC 7541 §6.2.2) and never
/// decodes response headers: a call succeeded when its stream carried one response message that
/// the caller's check accepts and then ended, so an error (trailers only, or a reset) is a failure.
/// Connection flow control is honoured both ways.
/// </summary>
internal sealed class LeanUnaryClient : IAsyncDisposable
{
    /// <summary>Our receive window for the connection and for each stream: large, so that the server never waits on us.</summary>
    private const int ReceiveWindow = 1 << 30;

    private readonly Socket _socket;
    private readonly byte[] _headerBlock;
    private readonly Dictionary<int, MessageAssembler> _streams = [];
    private readonly FrameBuffer _send = new();
    private int _nextStreamId = 1;
    private long _sendWindow = Http2Wire.DefaultWindow;
    private long _receivedSinceUpdate;

    private LeanUnaryClient(Socket socket, byte[] headerBlock)
    {
        _socket = socket;
        _headerBlock = headerBlock;
    }

    /// <summary>Connects to <paramref name="address"/> (h2c, prior knowledge) for calls to <paramref name="path"/>.</summary>
    public static async Task<LeanUnaryClient> ConnectAsync(Uri address, string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(address.Host, address.Port), cancellationToken);
            var client = new LeanUnaryClient(socket, Http2Wire.GrpcRequestHeaders(path, address.Authority));
            client._send.ClientPreface(ReceiveWindow);
            await client._send.SendAsync(socket, cancellationToken);
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Keeps <paramref name="concurrency"/> calls in flight until the load stops, each with the body
    /// <paramref name="next"/> gives; counts each call whose response <paramref name="accept"/> takes.
    /// Throws on any failed call.
    /// </summary>
    public async Task RunAsync(int concurrency, Func<IMessage> next, Func<ReadOnlyMemory<byte>, bool> accept, LoadContext load)
    {
        var buffer = new byte[256 * 1024];
        int start = 0, end = 0;
        var waiting = StartCalls(concurrency, next); // calls to start as soon as the send window allows
        await _send.SendAsync(_socket, load.Abort);
        while (_streams.Count > 0 || (waiting > 0 && !load.Stopping))
        {
            if (end == buffer.Length)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                end -= start;
                start = 0;
            }
            var read = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, load.Abort);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection with {_streams.Count} calls in flight.");
            }
            end += read;
            var completed = 0;
            while (end - start >= Http2Wire.FrameHeaderSize)
            {
                var (length, type, flags, streamId) = Http2Wire.ReadFrameHeader(buffer.AsSpan(start));
                if (end - start < Http2Wire.FrameHeaderSize + length)
                {
                    break;
                }
                completed += OnFrame(type, flags, streamId, buffer.AsMemory(start + Http2Wire.FrameHeaderSize, length), accept);
                start += Http2Wire.FrameHeaderSize + length;
            }
            if (start == end)
            {
                start = end = 0;
            }
            load.Add(completed);
            waiting += completed;
            if (!load.Stopping)
            {
                waiting = StartCalls(waiting, next);
            }
            if (_receivedSinceUpdate >= ReceiveWindow / 2)
            {
                _send.Frame(Http2Wire.WindowUpdate, 0, 0, 4);
                _send.UInt32((uint)_receivedSinceUpdate);
                _receivedSinceUpdate = 0;
            }
            await _send.SendAsync(_socket, load.Abort);
        }
    }

    /// <summary>Starts as many of <paramref name="waiting"/> calls as the connection's send window takes; returns those left.</summary>
    private int StartCalls(int waiting, Func<IMessage> next)
    {
        for (; waiting > 0; waiting--)
        {
            var message = next();
            var size = Http2Wire.MessagePrefixSize + message.CalculateSize();
            if (_sendWindow < size)
            {
                return waiting; // RFC 9113 §6.9: wait for the server's WINDOW_UPDATE
            }
            var id = _nextStreamId;
            _nextStreamId += 2;
            _streams.Add(id, new MessageAssembler());
            _send.Frame(Http2Wire.Headers, Http2Wire.EndHeaders, id, _headerBlock.Length);
            _send.Append(_headerBlock);
            _send.Message(id, message, endStream: true);
            _sendWindow -= size;
        }
        return 0;
    }

    /// <summary>Handles one frame; returns 1 when it completed a call successfully.</summary>
    private int OnFrame(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload, Func<ReadOnlyMemory<byte>, bool> accept)
    {
        switch (type)
        {
            case Http2Wire.Data:
                _receivedSinceUpdate += payload.Length;
                var stream = StreamOf(streamId);
                stream.Append(payload, message =>
                {
                    if (stream.Messages > 1 || !accept(message))
                    {
                        throw new InvalidOperationException($"Stream {streamId} answered a response the check refused, or more than one.");
                    }
                });
                return (flags & Http2Wire.EndStream) != 0 ? Complete(streamId) : 0;
            case Http2Wire.Headers:
                // Response headers, or the trailers that end the call (CONTINUATION frames carry nothing we read).
                return (flags & Http2Wire.EndStream) != 0 ? Complete(streamId) : 0;
            case Http2Wire.RstStream:
                throw new InvalidOperationException($"The server reset stream {streamId} (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span)}).");
            case Http2Wire.GoAway:
                throw new InvalidOperationException($"The server sent GOAWAY (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span[4..])}).");
            case Http2Wire.Settings when (flags & Http2Wire.Ack) == 0:
                for (var i = 0; i + 6 <= payload.Length; i += 6)
                {
                    if (BinaryPrimitives.ReadUInt16BigEndian(payload.Span[i..]) == Http2Wire.SettingMaxConcurrentStreams
                        && BinaryPrimitives.ReadUInt32BigEndian(payload.Span[(i + 2)..]) < _streams.Count)
                    {
                        throw new InvalidOperationException($"The server allows fewer concurrent streams than the {_streams.Count} in flight.");
                    }
                }
                _send.Frame(Http2Wire.Settings, Http2Wire.Ack, 0, 0);
                return 0;
            case Http2Wire.Ping when (flags & Http2Wire.Ack) == 0:
                _send.Frame(Http2Wire.Ping, Http2Wire.Ack, 0, payload.Length);
                _send.Append(payload.Span);
                return 0;
            case Http2Wire.WindowUpdate when streamId == 0:
                _sendWindow += BinaryPrimitives.ReadUInt32BigEndian(payload.Span) & 0x7FFF_FFFF;
                return 0;
            default:
                return 0;
        }
    }

    private MessageAssembler StreamOf(int streamId) =>
        _streams.TryGetValue(streamId, out var stream) ? stream : throw new InvalidOperationException($"A frame for stream {streamId}, which is not open.");

    /// <summary>A call succeeded when its one response message was accepted (<see cref="OnFrame"/>) before the stream ended.</summary>
    private int Complete(int streamId)
    {
        var stream = StreamOf(streamId);
        _streams.Remove(streamId);
        if (stream.Messages != 1 || !stream.IsEmpty)
        {
            throw new InvalidOperationException($"Stream {streamId} ended without a whole response message (an error status).");
        }
        return 1;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
