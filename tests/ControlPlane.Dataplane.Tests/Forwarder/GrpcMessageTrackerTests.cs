using System.Buffers.Binary;
using ControlPlane.Dataplane.Forwarder;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>The forwarder's view of gRPC message boundaries, however the body is cut into reads.</summary>
public sealed class GrpcMessageTrackerTests
{
    // Payload sizes: empty messages, a length needing all four bytes (70 000), small ones.
    private static readonly int[] Sizes = [3, 0, 70_000, 1, 0, 258];

    [Fact]
    public void EveryCutOfTheBody_IsAtABoundary_ExactlyAtTheEndOfAMessage()
    {
        var (body, ends) = Body();
        for (var cut = 0; cut <= body.Length; cut += cut < 400 || body.Length - cut < 400 ? 1 : 997)
        {
            var tracker = new GrpcMessageTracker();
            tracker.Advance(body.AsSpan(0, cut));
            Assert.True(ends.Contains(cut) == tracker.AtMessageBoundary, $"cut at {cut}");
            tracker.Advance(body.AsSpan(cut));
            Assert.True(tracker.AtMessageBoundary, $"whole body after a cut at {cut}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(7)]
    [InlineData(16_384)]
    public void ABodyReadInPiecesOfAnySize_IsTrackedAsWhenReadWhole(int piece)
    {
        var (body, ends) = Body();
        var tracker = new GrpcMessageTracker();
        for (var at = 0; at < body.Length; at += piece)
        {
            var next = Math.Min(body.Length, at + piece);
            tracker.Advance(body.AsSpan(at, next - at));
            Assert.True(ends.Contains(next) == tracker.AtMessageBoundary, $"after {next} bytes");
        }
    }

    [Fact]
    public void NothingSeen_IsABoundary_AndAPrefixAloneIsNot()
    {
        var tracker = new GrpcMessageTracker();
        Assert.True(tracker.AtMessageBoundary);
        tracker.Advance([0, 0, 0, 0]);
        Assert.False(tracker.AtMessageBoundary);
        tracker.Advance([2]);
        Assert.False(tracker.AtMessageBoundary);
        tracker.Advance([0xaa, 0xbb]);
        Assert.True(tracker.AtMessageBoundary);
    }

    /// <summary>Length-prefixed messages (the compressed flag set on some) and the offsets where each ends.</summary>
    private static (byte[] Body, HashSet<int> Ends) Body()
    {
        var body = new List<byte>();
        var ends = new HashSet<int> { 0 };
        for (var i = 0; i < Sizes.Length; i++)
        {
            var prefix = new byte[5];
            prefix[0] = (byte)(i % 2);
            BinaryPrimitives.WriteUInt32BigEndian(prefix.AsSpan(1), (uint)Sizes[i]);
            body.AddRange(prefix);
            body.AddRange(Enumerable.Range(0, Sizes[i]).Select(b => (byte)b));
            ends.Add(body.Count);
        }
        return (body.ToArray(), ends);
    }
}
