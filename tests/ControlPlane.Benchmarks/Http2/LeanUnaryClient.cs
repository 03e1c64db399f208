using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
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
    private const int FrameHeaderSize = 9;
    private const int MessagePrefixSize = 5;
    private const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8;
    private const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;

    /// <summary>Our receive window for the connection and for each stream: large, so that the server never waits on us.</summary>
    private const int ReceiveWindow = 1 << 30;
    private const int InitialWindow = 65_535;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly byte[] _headerBlock;
    private readonly Dictionary<int, StreamState> _streams = [];
    private byte[] _send = new byte[64 * 1024];
    private int _sendLength;
    private int _nextStreamId = 1;
    private long _sendWindow = InitialWindow;
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
            var client = new LeanUnaryClient(socket, HeaderBlock(path, address.Authority));
            client.Append(Preface);
            // SETTINGS: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE for the streams; then the connection's window.
            client.Frame(Settings, 0, 0, 12);
            client.Setting(0x2, 0);
            client.Setting(0x4, ReceiveWindow);
            client.Frame(WindowUpdate, 0, 0, 4);
            client.UInt32(ReceiveWindow - InitialWindow);
            await client.FlushAsync(cancellationToken);
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
        var waiting = concurrency; // calls to start as soon as the send window allows
        waiting = StartCalls(waiting, next);
        await FlushAsync(load.Abort);
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
            while (end - start >= FrameHeaderSize)
            {
                var length = (buffer[start] << 16) | (buffer[start + 1] << 8) | buffer[start + 2];
                if (end - start < FrameHeaderSize + length)
                {
                    break;
                }
                var type = buffer[start + 3];
                var flags = buffer[start + 4];
                var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(start + 5)) & 0x7FFF_FFFF);
                completed += OnFrame(type, flags, streamId, buffer.AsMemory(start + FrameHeaderSize, length), accept);
                start += FrameHeaderSize + length;
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
                Frame(WindowUpdate, 0, 0, 4);
                UInt32((uint)_receivedSinceUpdate);
                _receivedSinceUpdate = 0;
            }
            await FlushAsync(load.Abort);
        }
    }

    /// <summary>Starts as many of <paramref name="waiting"/> calls as the connection's send window takes; returns those left.</summary>
    private int StartCalls(int waiting, Func<IMessage> next)
    {
        for (; waiting > 0; waiting--)
        {
            var message = next();
            var size = message.CalculateSize();
            if (_sendWindow < MessagePrefixSize + size)
            {
                return waiting; // RFC 9113 §6.9: wait for the server's WINDOW_UPDATE
            }
            var id = _nextStreamId;
            _nextStreamId += 2;
            _streams.Add(id, new StreamState());
            Frame(Headers, EndHeaders, id, _headerBlock.Length);
            Append(_headerBlock);
            Frame(Data, EndStream, id, MessagePrefixSize + size);
            Reserve(MessagePrefixSize + size);
            _send[_sendLength] = 0; // not compressed
            BinaryPrimitives.WriteUInt32BigEndian(_send.AsSpan(_sendLength + 1), (uint)size);
            message.WriteTo(_send.AsSpan(_sendLength + MessagePrefixSize, size));
            _sendLength += MessagePrefixSize + size;
            _sendWindow -= MessagePrefixSize + size;
        }
        return 0;
    }

    /// <summary>Handles one frame; returns 1 when it completed a call successfully.</summary>
    private int OnFrame(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload, Func<ReadOnlyMemory<byte>, bool> accept)
    {
        switch (type)
        {
            case Data:
                _receivedSinceUpdate += payload.Length;
                var data = StreamOf(streamId);
                data.Append(payload.Span);
                return (flags & EndStream) != 0 ? Complete(streamId, data, accept) : 0;
            case Headers:
                // Response headers, or the trailers that end the call (CONTINUATION frames carry nothing we read).
                return (flags & EndStream) != 0 ? Complete(streamId, StreamOf(streamId), accept) : 0;
            case RstStream:
                throw new InvalidOperationException($"The server reset stream {streamId} (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span)}).");
            case GoAway:
                throw new InvalidOperationException($"The server sent GOAWAY (error code {BinaryPrimitives.ReadUInt32BigEndian(payload.Span[4..])}).");
            case Settings when (flags & Ack) == 0:
                for (var i = 0; i + 6 <= payload.Length; i += 6)
                {
                    var id = BinaryPrimitives.ReadUInt16BigEndian(payload.Span[i..]);
                    var value = BinaryPrimitives.ReadUInt32BigEndian(payload.Span[(i + 2)..]);
                    if (id == 0x3 && value < _streams.Count)
                    {
                        throw new InvalidOperationException($"The server allows {value} concurrent streams; {_streams.Count} are in flight.");
                    }
                }
                Frame(Settings, Ack, 0, 0);
                return 0;
            case Ping when (flags & Ack) == 0:
                Frame(Ping, Ack, 0, payload.Length);
                Append(payload.Span);
                return 0;
            case WindowUpdate when streamId == 0:
                _sendWindow += BinaryPrimitives.ReadUInt32BigEndian(payload.Span) & 0x7FFF_FFFF;
                return 0;
            default:
                return 0;
        }
    }

    private StreamState StreamOf(int streamId) =>
        _streams.TryGetValue(streamId, out var stream) ? stream : throw new InvalidOperationException($"A frame for stream {streamId}, which is not open.");

    private int Complete(int streamId, StreamState stream, Func<ReadOnlyMemory<byte>, bool> accept)
    {
        _streams.Remove(streamId);
        var message = stream.Message();
        if (message is null || !accept(message.Value))
        {
            throw new InvalidOperationException(message is null
                ? $"Stream {streamId} ended without a response message (an error status)."
                : $"Stream {streamId} answered a response the check refused.");
        }
        return 1;
    }

    private static byte[] HeaderBlock(string path, string authority)
    {
        var block = new List<byte>
        {
            0x83, // :method POST (static table 3)
            0x86, // :scheme http (static table 6)
        };
        Literal(block, 4, path); // :path
        Literal(block, 1, authority); // :authority
        Literal(block, 31, "application/grpc"); // content-type
        block.Add(0x00); // te: a literal name
        String(block, "te");
        String(block, "trailers");
        return [.. block];
    }

    /// <summary>A literal field without indexing, its name from the static table (RFC 7541 §6.2.2).</summary>
    private static void Literal(List<byte> block, int nameIndex, string value)
    {
        Integer(block, 0x00, 4, nameIndex);
        String(block, value);
    }

    private static void String(List<byte> block, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        Integer(block, 0x00, 7, bytes.Length); // not Huffman-coded
        block.AddRange(bytes);
    }

    /// <summary>An integer with an N-bit prefix (RFC 7541 §5.1).</summary>
    private static void Integer(List<byte> block, byte first, int prefixBits, int value)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            block.Add((byte)(first | value));
            return;
        }
        block.Add((byte)(first | max));
        value -= max;
        while (value >= 0x80)
        {
            block.Add((byte)((value & 0x7F) | 0x80));
            value >>= 7;
        }
        block.Add((byte)value);
    }

    private void Frame(byte type, byte flags, int streamId, int length)
    {
        Reserve(FrameHeaderSize);
        var span = _send.AsSpan(_sendLength);
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = type;
        span[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)streamId);
        _sendLength += FrameHeaderSize;
    }

    private void Setting(ushort id, uint value)
    {
        Reserve(6);
        BinaryPrimitives.WriteUInt16BigEndian(_send.AsSpan(_sendLength), id);
        BinaryPrimitives.WriteUInt32BigEndian(_send.AsSpan(_sendLength + 2), value);
        _sendLength += 6;
    }

    private void UInt32(uint value)
    {
        Reserve(4);
        BinaryPrimitives.WriteUInt32BigEndian(_send.AsSpan(_sendLength), value);
        _sendLength += 4;
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_send.AsSpan(_sendLength));
        _sendLength += bytes.Length;
    }

    private void Reserve(int bytes)
    {
        if (_sendLength + bytes > _send.Length)
        {
            Array.Resize(ref _send, Math.Max(_send.Length * 2, _sendLength + bytes));
        }
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        while (sent < _sendLength)
        {
            sent += await _socket.SendAsync(_send.AsMemory(sent, _sendLength - sent), SocketFlags.None, cancellationToken);
        }
        _sendLength = 0;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>What one call received: its response message's bytes, whole, once the frames carrying them are in.</summary>
    private sealed class StreamState
    {
        private byte[]? _data;
        private int _length;

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (bytes.IsEmpty)
            {
                return;
            }
            if (_data is null || _length + bytes.Length > _data.Length)
            {
                Array.Resize(ref _data, Math.Max(_length + bytes.Length, (_data?.Length ?? 256) * 2));
            }
            bytes.CopyTo(_data.AsSpan(_length));
            _length += bytes.Length;
        }

        /// <summary>The one uncompressed message the stream carried, or null when it carried none (or more, or a broken one).</summary>
        public ReadOnlyMemory<byte>? Message()
        {
            if (_data is null || _length < MessagePrefixSize || _data[0] != 0)
            {
                return null;
            }
            var size = BinaryPrimitives.ReadUInt32BigEndian(_data.AsSpan(1));
            return size == _length - MessagePrefixSize ? _data.AsMemory(MessagePrefixSize, (int)size) : null;
        }
    }
}
