using System.Buffers.Binary;
using System.Net.Sockets;
using Google.Protobuf;

namespace ControlPlane.Benchmarks.Http2;

/// <summary>Frames waiting to be sent: appended by the lean clients, written to the socket in one send.</summary>
internal sealed class FrameBuffer
{
    private byte[] _bytes = new byte[64 * 1024];

    public int Length { get; private set; }

    /// <summary>
    /// A client's connection preface (RFC 9113 §3.4): the magic, SETTINGS without server push and with
    /// <paramref name="receiveWindow"/> for every stream, and the connection's window raised to it too.
    /// </summary>
    public void ClientPreface(int receiveWindow)
    {
        Append(Http2Wire.Preface);
        Frame(Http2Wire.Settings, 0, 0, 12);
        Setting(Http2Wire.SettingEnablePush, 0);
        Setting(Http2Wire.SettingInitialWindowSize, (uint)receiveWindow);
        Frame(Http2Wire.WindowUpdate, 0, 0, 4);
        UInt32((uint)(receiveWindow - Http2Wire.DefaultWindow));
    }

    public void Frame(byte type, byte flags, int streamId, int length)
    {
        var span = Reserve(Http2Wire.FrameHeaderSize);
        span[0] = (byte)(length >> 16);
        span[1] = (byte)(length >> 8);
        span[2] = (byte)length;
        span[3] = type;
        span[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)streamId);
    }

    public void Setting(ushort id, uint value)
    {
        var span = Reserve(6);
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], value);
    }

    public void UInt32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void Append(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    /// <summary>A DATA frame carrying <paramref name="message"/> as one length-prefixed gRPC message (PROTOCOL-HTTP2.md).</summary>
    public void Message(int streamId, IMessage message, bool endStream)
    {
        var size = message.CalculateSize();
        Frame(Http2Wire.Data, endStream ? Http2Wire.EndStream : (byte)0, streamId, Http2Wire.MessagePrefixSize + size);
        var span = Reserve(Http2Wire.MessagePrefixSize + size);
        span[0] = 0; // not compressed
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)size);
        message.WriteTo(span[Http2Wire.MessagePrefixSize..]);
    }

    public async ValueTask SendAsync(Socket socket, CancellationToken cancellationToken)
    {
        var sent = 0;
        while (sent < Length)
        {
            sent += await socket.SendAsync(_bytes.AsMemory(sent, Length - sent), SocketFlags.None, cancellationToken);
        }
        Length = 0;
    }

    private Span<byte> Reserve(int bytes)
    {
        if (Length + bytes > _bytes.Length)
        {
            Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, Length + bytes));
        }
        var span = _bytes.AsSpan(Length, bytes);
        Length += bytes;
        return span;
    }
}
