using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ControlPlane.Grpc.Compression;
using Google.Protobuf;

namespace ControlPlane.Grpc.Protocol;

/// <summary>
/// Length-prefixed messages: a 1-byte compressed flag, a 4-byte big-endian length, the payload
/// (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"). Shared by server and client.
/// </summary>
internal static class MessageFraming
{
    /// <summary>
    /// Reads the next message from <paramref name="reader"/>; null at a clean end of stream.
    /// Throws <see cref="RpcException"/> with INTERNAL for a truncated or malformed frame and
    /// RESOURCE_EXHAUSTED for one over <paramref name="maxSize"/> (before buffering it).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T?> ReadMessageAsync<T>(
        PipeReader reader, MessageParser<T> parser, ICompressionProvider? decompressor, string? encodingName, int maxSize, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            if (buffer.Length >= GrpcProtocol.HeaderSize)
            {
                var (compressed, length) = ReadHeader(buffer);
                if (length > maxSize)
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                    throw new RpcException(StatusCode.ResourceExhausted, $"Received message exceeds the maximum configured message size ({length} > {maxSize}).");
                }
                if (buffer.Length >= GrpcProtocol.HeaderSize + length)
                {
                    var payload = buffer.Slice(GrpcProtocol.HeaderSize, length);
                    T message;
                    try
                    {
                        message = Parse(parser, payload, compressed, decompressor, encodingName, maxSize);
                    }
                    finally
                    {
                        reader.AdvanceTo(payload.End);
                    }
                    return message;
                }
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return null;
                }
                throw new RpcException(StatusCode.Internal, "Incomplete message: the stream ended inside a length-prefixed message.");
            }
            // Nothing consumed, everything examined: wait for more bytes.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>
    /// Reads every complete message already buffered (at least one, waiting for it) into
    /// <paramref name="output"/>, consuming them with one read: the client-streaming path, where
    /// one HTTP/2 DATA frame often carries many small messages. False at a clean end of stream.
    /// A frame that cannot be parsed after good ones is left unconsumed, so the good messages are
    /// delivered first and the next call throws for the bad one, as a one-at-a-time reader would.
    /// A long-lived stream waits here for every message, so the method's state is pooled rather than
    /// allocated per wait.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<bool> ReadBufferedMessagesAsync<T>(
        PipeReader reader, MessageParser<T> parser, ICompressionProvider? decompressor, string? encodingName, int maxSize, Queue<T> output, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var remaining = buffer;
            try
            {
                while (remaining.Length >= GrpcProtocol.HeaderSize)
                {
                    var (compressed, length) = ReadHeader(remaining);
                    if (length > maxSize)
                    {
                        throw new RpcException(StatusCode.ResourceExhausted, $"Received message exceeds the maximum configured message size ({length} > {maxSize}).");
                    }
                    if (remaining.Length < GrpcProtocol.HeaderSize + length)
                    {
                        break;
                    }
                    var payload = remaining.Slice(GrpcProtocol.HeaderSize, length);
                    output.Enqueue(Parse(parser, payload, compressed, decompressor, encodingName, maxSize));
                    consumed = payload.End;
                    remaining = remaining.Slice(payload.End);
                }
            }
            catch (RpcException) when (output.Count > 0)
            {
                reader.AdvanceTo(consumed);
                return true;
            }
            catch
            {
                reader.AdvanceTo(consumed, buffer.End);
                throw;
            }
            if (output.Count > 0)
            {
                reader.AdvanceTo(consumed, remaining.Length > 0 ? buffer.End : consumed);
                return true;
            }
            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return false;
                }
                throw new RpcException(StatusCode.Internal, "Incomplete message: the stream ended inside a length-prefixed message.");
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes one message (and its 5-byte prefix), compressing it when a compressor is given.</summary>
    public static void WriteMessage<T>(IBufferWriter<byte> writer, T message, ICompressionProvider? compressor, CompressionLevel level, int maxSize)
        where T : IMessage<T>
    {
        var size = message.CalculateSize();
        if (LegacyCodec<T>.Required)
        {
            WriteLegacy(writer, message, compressor, level, maxSize);
            return;
        }
        if (compressor is null)
        {
            CheckSendSize(size, maxSize);
            if (size <= 64 * 1024)
            {
                // Prefix and message in one contiguous span, with one GetSpan/Advance: the fastest
                // protobuf write path, and Kestrel's HTTP/2 writer takes a lock on each of those calls.
                var frame = writer.GetSpan(GrpcProtocol.HeaderSize + size);
                WriteHeader(frame, compressed: false, size);
                if (size > 0)
                {
                    message.WriteTo(frame.Slice(GrpcProtocol.HeaderSize, size));
                }
                writer.Advance(GrpcProtocol.HeaderSize + size);
            }
            else
            {
                WriteHeader(writer.GetSpan(GrpcProtocol.HeaderSize), compressed: false, size);
                writer.Advance(GrpcProtocol.HeaderSize);
                message.WriteTo(writer);
            }
            return;
        }
        var raw = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        try
        {
            message.WriteTo(raw.AsSpan(0, size));
            var compressed = CompressionProviders.Compress(compressor, raw.AsSpan(0, size), level);
            CheckSendSize(compressed.Length, maxSize);
            var span = writer.GetSpan(GrpcProtocol.HeaderSize + compressed.Length);
            WriteHeader(span, compressed: true, compressed.Length);
            compressed.CopyTo(span[GrpcProtocol.HeaderSize..]);
            writer.Advance(GrpcProtocol.HeaderSize + compressed.Length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }
    }

    private static void WriteLegacy<T>(IBufferWriter<byte> writer, T message, ICompressionProvider? compressor, CompressionLevel level, int maxSize)
        where T : IMessage<T>
    {
        var bytes = message.ToByteArray();
        var payload = compressor is null ? bytes : CompressionProviders.Compress(compressor, bytes, level);
        CheckSendSize(payload.Length, maxSize);
        var span = writer.GetSpan(GrpcProtocol.HeaderSize + payload.Length);
        WriteHeader(span, compressor is not null, payload.Length);
        payload.CopyTo(span[GrpcProtocol.HeaderSize..]);
        writer.Advance(GrpcProtocol.HeaderSize + payload.Length);
    }

    /// <summary>A whole framed message as one array: the unary client request path.</summary>
    public static byte[] FrameMessage<T>(T message, ICompressionProvider? compressor, CompressionLevel level, int maxSize)
        where T : IMessage<T>
    {
        var writer = new ArrayBufferWriter<byte>(GrpcProtocol.HeaderSize + message.CalculateSize());
        WriteMessage(writer, message, compressor, level, maxSize);
        return writer.WrittenSpan.ToArray();
    }

    private static void WriteHeader(Span<byte> span, bool compressed, int length)
    {
        span[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
    }

    private static void CheckSendSize(int size, int maxSize)
    {
        if (size > maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"Sending message exceeds the maximum configured message size ({size} > {maxSize}).");
        }
    }

    private static (bool Compressed, long Length) ReadHeader(ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[GrpcProtocol.HeaderSize];
        buffer.Slice(0, GrpcProtocol.HeaderSize).CopyTo(header);
        var flag = header[0];
        if (flag > 1)
        {
            throw new RpcException(StatusCode.Internal, $"Malformed message: compressed flag {flag} is neither 0 nor 1.");
        }
        return (flag == 1, BinaryPrimitives.ReadUInt32BigEndian(header[1..]));
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> payload, bool compressed, ICompressionProvider? decompressor, string? encodingName, int maxSize)
        where T : class, IMessage<T>
    {
        if (compressed)
        {
            if (decompressor is null)
            {
                // PROTOCOL-HTTP2.md: a compressed message without a grpc-encoding is a protocol error.
                throw new RpcException(StatusCode.Internal, $"Request sent a compressed message but grpc-encoding '{encodingName ?? "identity"}' names no compression.");
            }
            byte[]? inflated;
            try
            {
                inflated = CompressionProviders.Decompress(decompressor, payload, maxSize);
            }
            catch (InvalidDataException ex)
            {
                throw new RpcException(new Status(StatusCode.Internal, $"Malformed {decompressor.EncodingName} message: {ex.Message}"), new Metadata(), ex);
            }
            if (inflated is null)
            {
                throw new RpcException(StatusCode.ResourceExhausted, $"Decompressed message exceeds the maximum configured message size ({maxSize}).");
            }
            payload = new ReadOnlySequence<byte>(inflated);
        }
        try
        {
            if (!LegacyCodec<T>.RequiredFor(payload))
            {
                return parser.ParseFrom(payload);
            }
            // The stream codec reads an array: the buffer's own when the payload is one piece of one.
            return payload.IsSingleSegment && MemoryMarshal.TryGetArray(payload.First, out var segment)
                ? parser.ParseFrom(segment.Array!, segment.Offset, segment.Count)
                : parser.ParseFrom(payload.ToArray());
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"Failed to deserialize {typeof(T).Name}: {ex.Message}"), new Metadata(), ex);
        }
    }
}
