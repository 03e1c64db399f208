using ControlPlane.Grpc;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>The four call shapes: empty_unary, large_unary, server_streaming, client_streaming, ping_pong, empty_stream, large_server_stream.</summary>
public abstract partial class InteropCases
{
    [Fact]
    public async Task EmptyUnary()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty(), Call());
        Assert.Equal(new Empty(), await call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task LargeUnary()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncUnaryCall(
            InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = LargeResponseSize, Payload = Zeros(LargeRequestSize) }, Call());
        var response = await call.ResponseAsync.DefaultTimeout();
        AssertZeros(response.Payload, LargeResponseSize);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ServerStreaming()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, OutputRequest(ResponseSizes), Call());
        var responses = new List<StreamingOutputCallResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            responses.Add(call.ResponseStream.Current);
        }
        Assert.Equal(ResponseSizes, responses.Select(r => r.Payload.Body.Length));
        Assert.All(responses, r => AssertZeros(r.Payload, r.Payload.Body.Length));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall, Call());
        foreach (var size in RequestSizes)
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = Zeros(size) }).DefaultTimeout();
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        var response = await call.ResponseAsync.DefaultTimeout();
        Assert.Equal(74922, response.AggregatedPayloadSize);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task PingPong()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, Call());
        for (var i = 0; i < RequestSizes.Length; i++)
        {
            await call.RequestStream.WriteAsync(OutputRequest([ResponseSizes[i]], RequestSizes[i])).DefaultTimeout();
            // Ping-pong: the response arrives while the request stream is still open.
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout(), $"The stream ended before response {i}.");
            AssertZeros(call.ResponseStream.Current.Payload, ResponseSizes[i]);
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout(), "Unexpected extra response.");
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task EmptyStream()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, Call());
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout(), "Unexpected response.");
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task LargeServerStream()
    {
        const int count = 100, size = 64 * 1024;
        using var channel = await ConnectAsync();
        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, OutputRequest(Enumerable.Repeat(size, count)), Call());
        var received = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            AssertZeros(call.ResponseStream.Current.Payload, size);
            received++;
        }
        Assert.Equal(count, received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }
}
