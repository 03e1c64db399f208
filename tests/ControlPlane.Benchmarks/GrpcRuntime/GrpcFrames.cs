using System.Buffers;
using System.Buffers.Binary;
using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>gRPC wire bytes as the raw endpoints and the load generators build them, without the runtime.</summary>
internal static class GrpcFrames
{
    public const int HeaderSize = 5;
    public const string ContentType = "application/grpc";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string StatusHeader = "grpc-status";

    /// <summary>The grpc-accept-encoding our server sends on every response, so the raw one sends it too.</summary>
    public static readonly string AcceptEncoding = CompressionProviders.Default.AcceptEncoding;

    public static ServiceDescriptor Service => BenchReflection.Descriptor.Services[0];

    public static MethodDescriptor Method(string name) =>
        Service.FindMethodByName(name) ?? throw new InvalidOperationException($"bench.v1.BenchService has no method '{name}'.");

    /// <summary>"/bench.v1.BenchService/Name".</summary>
    public static string PathOf(string name) => "/" + Service.FullName + "/" + Method(name).Name;

    public static Payload ZeroPayload(int size) => new() { Body = ByteString.CopyFrom(new byte[size]) };

    /// <summary>One length-prefixed message (PROTOCOL-HTTP2.md): flag 0, big-endian length, payload.</summary>
    public static byte[] Frame(IMessage message)
    {
        var size = message.CalculateSize();
        var frame = new byte[HeaderSize + size];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)size);
        message.WriteTo(frame.AsSpan(HeaderSize));
        return frame;
    }

    /// <summary>The same frame <paramref name="count"/> times, back to back.</summary>
    public static byte[] Repeat(byte[] frame, int count)
    {
        var bytes = new byte[frame.Length * count];
        for (var i = 0; i < count; i++)
        {
            frame.CopyTo(bytes, i * frame.Length);
        }
        return bytes;
    }

    /// <summary>Splits the next whole frame off <paramref name="buffer"/>; false when it has not fully arrived.</summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }
        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var length = HeaderSize + (long)BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (buffer.Length < length)
        {
            return false;
        }
        frame = buffer.Slice(0, length);
        buffer = buffer.Slice(length);
        return true;
    }
}
