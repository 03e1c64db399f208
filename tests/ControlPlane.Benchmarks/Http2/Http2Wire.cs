using System.Buffers.Binary;
using System.Text;

namespace ControlPlane.Benchmarks.Http2;

/// <summary>HTTP/2 (RFC 9113) and HPACK (RFC 7541) constants and encoders for the lean load generators.</summary>
internal static class Http2Wire
{
    public const int FrameHeaderSize = 9;
    public const int MessagePrefixSize = 5;
    public const int DefaultWindow = 65_535;

    public const byte Data = 0x0, Headers = 0x1, RstStream = 0x3, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8;
    public const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;
    public const ushort SettingEnablePush = 0x2, SettingMaxConcurrentStreams = 0x3, SettingInitialWindowSize = 0x4;
    public const uint Cancel = 0x8;

    public static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>A frame's header fields, read from the first <see cref="FrameHeaderSize"/> bytes of <paramref name="header"/>.</summary>
    public static (int Length, byte Type, byte Flags, int StreamId) ReadFrameHeader(ReadOnlySpan<byte> header) => (
        (header[0] << 16) | (header[1] << 8) | header[2],
        header[3],
        header[4],
        (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7FFF_FFFF));

    /// <summary>
    /// The request headers of a gRPC call to <paramref name="path"/>, without the dynamic table
    /// (literals without indexing, RFC 7541 §6.2.2; names from the static table where it has them),
    /// so one encoding serves every call.
    /// </summary>
    public static byte[] GrpcRequestHeaders(string path, string authority)
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
}
