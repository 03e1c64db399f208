using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Pipelines;
using ControlPlane.Grpc.Compression;
using ControlPlane.Grpc.Protocol;
using ControlPlane.Interop.V1;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Protocol;

public sealed class MessageFramingTests
{
    private static readonly MessageParser<SimpleRequest> Parser = SimpleRequest.Parser;

    [Fact]
    public void Frame_IsFlagThenBigEndianLengthThenPayload()
    {
        var message = new SimpleRequest { ResponseSize = 7 };
        var framed = MessageFraming.FrameMessage(message, null, CompressionLevel.Fastest, 1024);
        Assert.Equal(0, framed[0]);
        Assert.Equal((uint)message.CalculateSize(), BinaryPrimitives.ReadUInt32BigEndian(framed.AsSpan(1)));
        Assert.Equal(message.ToByteArray(), framed[5..]);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("gzip")]
    public async Task MessagesOfOlderGeneratedCode_RoundTrip(string? encoding)
    {
        // Google.Api.CommonProtos 2.0.0 (google.rpc.Status, a NACK's error_detail) predates the span
        // codec: those types go through protobuf's stream codec, framed the same way.
        Assert.True(LegacyCodec<Google.Rpc.Status>.Required);
        Assert.False(LegacyCodec<SimpleRequest>.Required);
        var compressor = encoding is null ? null : CompressionProviders.Default.Find(encoding);
        var message = new Google.Rpc.Status { Code = 3, Message = "port 6666 is reserved" };
        message.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(new Google.Rpc.ErrorInfo { Type = "policy_invalid" }));
        var pipe = new Pipe();
        MessageFraming.WriteMessage(pipe.Writer, message, compressor, CompressionLevel.Fastest, 1024);
        await pipe.Writer.CompleteAsync();

        var read = await MessageFraming.ReadMessageAsync(pipe.Reader, Google.Rpc.Status.Parser, compressor, encoding, 1024, CancellationToken.None).DefaultTimeout();

        Assert.Equal(message, read);
    }

    [Fact]
    public async Task ReadsSeveralMessages_ArrivingInOddChunks()
    {
        var bytes = Concat(
            MessageFraming.FrameMessage(new SimpleRequest { ResponseSize = 1 }, null, CompressionLevel.Fastest, 1024),
            MessageFraming.FrameMessage(new SimpleRequest(), null, CompressionLevel.Fastest, 1024),
            MessageFraming.FrameMessage(new SimpleRequest { ResponseSize = 3, Payload = new Payload { Body = ByteString.CopyFrom(new byte[5000]) } }, null, CompressionLevel.Fastest, 1024 * 1024));
        var pipe = new Pipe();
        var writer = Task.Run(async () =>
        {
            // Three bytes at a time: headers and payloads split across reads.
            for (var i = 0; i < bytes.Length; i += 3)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(3, bytes.Length - i)));
            }
            await pipe.Writer.CompleteAsync();
        });
        var sizes = new List<int>();
        while (await Read(pipe.Reader, 1024 * 1024) is { } m)
        {
            sizes.Add(m.ResponseSize);
        }
        await writer.DefaultTimeout();
        Assert.Equal([1, 0, 3], sizes);
    }

    [Fact]
    public async Task StreamEndingInsideAMessage_IsInternal()
    {
        var framed = MessageFraming.FrameMessage(new SimpleRequest { ResponseSize = 99 }, null, CompressionLevel.Fastest, 1024);
        var ex = await Assert.ThrowsAsync<RpcException>(() => Read(Completed(framed[..^1]), 1024));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        var header = await Assert.ThrowsAsync<RpcException>(() => Read(Completed([0, 0, 0]), 1024));
        Assert.Equal(StatusCode.Internal, header.StatusCode);
    }

    [Fact]
    public async Task UnknownCompressedFlag_IsInternal()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Read(Completed([7, 0, 0, 0, 0]), 1024));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Contains("compressed flag 7", ex.Status.Detail);
    }

    [Fact]
    public async Task OversizedLength_IsResourceExhausted_BeforeThePayloadArrives()
    {
        // Claims 2 GiB and sends none of it: refused from the header alone.
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0x80, 0, 0, 0 });
        var ex = await Assert.ThrowsAsync<RpcException>(() => Read(pipe.Reader, 4 * 1024 * 1024));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task GarbagePayload_IsInternal()
    {
        byte[] garbage = [0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF];
        var ex = await Assert.ThrowsAsync<RpcException>(() => Read(Completed(garbage), 1024));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task CompressedMessage_WithoutAnEncoding_IsInternal()
    {
        var gzip = new GzipCompressionProvider();
        var framed = MessageFraming.FrameMessage(new SimpleRequest { ResponseSize = 5 }, gzip, CompressionLevel.Fastest, 1024);
        Assert.Equal(1, framed[0]);
        var ex = await Assert.ThrowsAsync<RpcException>(() => Read(Completed(framed), 1024));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CompressedMessages_RoundTrip(string encoding)
    {
        var provider = CompressionProviders.Default.Find(encoding)!;
        var message = new SimpleRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[100_000]) } };
        var framed = MessageFraming.FrameMessage(message, provider, CompressionLevel.Fastest, 1024 * 1024);
        Assert.True(framed.Length < 10_000, "zeros compress");
        var read = await MessageFraming.ReadMessageAsync(Completed(framed), Parser, provider, encoding, 1024 * 1024, CancellationToken.None);
        Assert.Equal(message, read);
    }

    [Fact]
    public async Task DecompressionBomb_IsResourceExhausted()
    {
        var gzip = new GzipCompressionProvider();
        var bomb = MessageFraming.FrameMessage(new SimpleRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[3_000_000]) } }, gzip, CompressionLevel.Optimal, 4_000_000);
        Assert.True(bomb.Length < 64 * 1024);
        var ex = await Assert.ThrowsAsync<RpcException>(() => MessageFraming.ReadMessageAsync(Completed(bomb), Parser, gzip, "gzip", 64 * 1024, CancellationToken.None).AsTask());
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task CorruptGzip_IsInternal()
    {
        byte[] framed = [1, 0, 0, 0, 4, 0x1f, 0x8b, 0x00, 0x01];
        var ex = await Assert.ThrowsAsync<RpcException>(() => MessageFraming.ReadMessageAsync(Completed(framed), Parser, new GzipCompressionProvider(), "gzip", 1024, CancellationToken.None).AsTask());
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public void SendingOverTheLimit_IsResourceExhausted()
    {
        var ex = Assert.Throws<RpcException>(() => MessageFraming.FrameMessage(new SimpleRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[2048]) } }, null, CompressionLevel.Fastest, 1024));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Theory]
    [InlineData("identity,gzip,deflate", "gzip", true)]
    [InlineData("identity, deflate , GZIP", "gzip", true)]
    [InlineData("identity,deflate", "gzip", false)]
    [InlineData("", "gzip", false)]
    [InlineData(null, "gzip", false)]
    public void AcceptEncoding_IsParsedAsAList(string? header, string name, bool accepted) =>
        Assert.Equal(accepted, CompressionProviders.Accepts(header, name));

    private static Task<SimpleRequest?> Read(PipeReader reader, int max) =>
        MessageFraming.ReadMessageAsync(reader, Parser, null, null, max, CancellationToken.None).AsTask().DefaultTimeout();

    private static PipeReader Completed(byte[] bytes) => PipeReader.Create(new MemoryStream(bytes));

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
