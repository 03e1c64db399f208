using ControlPlane.Grpc;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>gzip message compression: client_compressed_unary, server_compressed_unary (checked on the wire).</summary>
public abstract partial class InteropCases
{
    [Fact]
    public async Task ClientCompressedUnary()
    {
        var (channel, tap) = await ConnectTappedAsync();
        using var _ = channel;
        var request = new SimpleRequest { ResponseSize = LargeResponseSize, Payload = Zeros(LargeRequestSize), ExpectCompressed = true };

        // Probe: the server must notice an uncompressed request when it expects a compressed one.
        using (var plain = channel.AsyncUnaryCall(InteropMethods.UnaryCall, request, Call()))
        {
            await AssertFailsAsync(() => plain.ResponseAsync, plain, StatusCode.InvalidArgument);
        }
        using var compressed = channel.AsyncUnaryCall(InteropMethods.UnaryCall, request, Call() with { RequestCompression = "gzip" });
        AssertZeros((await compressed.ResponseAsync.DefaultTimeout()).Payload, LargeResponseSize);

        Assert.Collection(
            tap.Exchanges,
            probe => Assert.Equal((null, (byte?)0), (probe.RequestEncoding, probe.RequestFlag)),
            sent => Assert.Equal(("gzip", (byte?)1), (sent.RequestEncoding, sent.RequestFlag)));
    }

    [Fact]
    public async Task ServerCompressedUnary()
    {
        var (channel, tap) = await ConnectTappedAsync();
        using var _ = channel;
        foreach (var responseCompressed in new[] { true, false })
        {
            using var call = channel.AsyncUnaryCall(
                InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = LargeResponseSize, ResponseCompressed = responseCompressed }, Call());
            AssertZeros((await call.ResponseAsync.DefaultTimeout()).Payload, LargeResponseSize);
        }

        Assert.Collection(
            tap.Exchanges,
            compressed => Assert.Equal(("gzip", (byte?)1), (compressed.ResponseEncoding, compressed.ResponseFlag)),
            plain => Assert.Equal((byte?)0, plain.ResponseFlag));
    }
}
