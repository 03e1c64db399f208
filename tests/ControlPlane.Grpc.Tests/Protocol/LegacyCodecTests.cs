using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using ControlPlane.Grpc.Protocol;
using ControlPlane.Grpc.Tests.Codec;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Protocol;

/// <summary>
/// A message generated with the span codec that can carry one generated without it (google.rpc.Status
/// from Google.Api.CommonProtos 2.0.0): parsed with the span codec unless the older type is present,
/// and equal to what was sent either way.
/// </summary>
public sealed class LegacyCodecTests
{
    private static readonly Google.Rpc.Status Error = new() { Code = 3, Message = "weight must be at least 1" };

    public static TheoryData<string> Shapes() => ["ack", "nack", "map of errors", "everything"];

    private static Envelope Shape(string shape) => shape switch
    {
        "ack" => new Envelope { Name = "type.googleapis.com/x", Tags = { "a", "b" }, Count = -5, Stamp = ulong.MaxValue, Small = 7, Inner = new Inner { Note = "n" } },
        "nack" => new Envelope { Name = "n", Error = Error },
        "map of errors" => new Envelope { Errors = { ["img"] = Error } },
        _ => new Envelope { Name = "n", Error = Error, Tags = { "t" }, Count = 1, Stamp = 2, Small = 3, Errors = { ["a"] = Error }, Inner = new Inner() },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task EveryShape_RoundTrips(string shape)
    {
        var message = Shape(shape);
        var pipe = new Pipe();
        MessageFraming.WriteMessage(pipe.Writer, message, null, CompressionLevel.Fastest, 1024);
        await pipe.Writer.CompleteAsync();

        var read = await MessageFraming.ReadMessageAsync(pipe.Reader, Envelope.Parser, null, null, 1024, CancellationToken.None).DefaultTimeout();

        Assert.Equal(message, read);
    }

    [Theory]
    [InlineData("ack", false)]
    [InlineData("nack", true)]
    [InlineData("map of errors", true)]
    [InlineData("everything", true)]
    public void OnlyAPayloadCarryingTheOlderType_TakesTheStreamCodec(string shape, bool legacy)
    {
        Assert.True(LegacyCodec<Envelope>.Required);
        Assert.Equal(legacy, LegacyCodec<Envelope>.RequiredFor(new ReadOnlySequence<byte>(Shape(shape).ToByteArray())));
    }

    [Fact]
    public void MalformedOrSplitPayloads_TakeTheStreamCodec_WhichReportsThem()
    {
        var ack = Shape("ack").ToByteArray();
        Assert.True(LegacyCodec<Envelope>.RequiredFor(new ReadOnlySequence<byte>(ack[..^1])), "truncated");
        Assert.True(LegacyCodec<Envelope>.RequiredFor(new ReadOnlySequence<byte>([0x0A, 0xFF])), "length past the end");
        Assert.True(LegacyCodec<Envelope>.RequiredFor(new ReadOnlySequence<byte>([0x0B])), "a group");
        Assert.True(LegacyCodec<Envelope>.RequiredFor(Split(ack)), "two segments");
        Assert.False(LegacyCodec<Envelope>.RequiredFor(ReadOnlySequence<byte>.Empty));
        Assert.Throws<InvalidProtocolBufferException>(() => Envelope.Parser.ParseFrom(ack[..^1]));
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes)
    {
        var first = new Segment(bytes.AsMemory(0, 3), 0);
        var last = first.Append(bytes.AsMemory(3));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
