using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>max_message_size: 4 MiB limits (the default) enforced by the server and by our client, both ways.</summary>
public abstract partial class InteropCases
{
    private const int FiveMiB = 5 * 1024 * 1024;

    [Fact]
    public async Task MaxMessageSize_ServerRefusesLargeRequest()
    {
        // Our client would refuse 5 MiB itself: lift its limit so the server is the one to refuse.
        using var channel = await ConnectAsync(new GrpcChannelOptions { MaxSendMessageSize = 16 * 1024 * 1024 });
        using var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 1, Payload = Zeros(FiveMiB) }, Call());

        await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.ResourceExhausted);
        await AssertChannelUsableAsync(channel);
    }

    [Fact]
    public async Task MaxMessageSize_ClientRefusesLargeRequestBeforeSending()
    {
        var (channel, tap) = await ConnectTappedAsync();
        using var _ = channel;
        using var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 1, Payload = Zeros(FiveMiB) }, Call());

        var ex = await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.ResourceExhausted);
        Assert.Contains("Sending message exceeds the maximum configured message size", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(tap.Exchanges);
        await AssertChannelUsableAsync(channel);
        Assert.Single(tap.Exchanges);
    }

    [Fact]
    public async Task MaxMessageSize_ClientRefusesLargeResponse()
    {
        using var channel = await ConnectAsync(new GrpcChannelOptions { MaxReceiveMessageSize = 1024 * 1024 });
        using var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 2 * 1024 * 1024 }, Call());

        var ex = await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.ResourceExhausted);
        Assert.Contains("Received message exceeds the maximum configured message size", ex.Status.Detail, StringComparison.Ordinal);
        await AssertChannelUsableAsync(channel);
    }

    [Fact]
    public async Task MaxMessageSize_ClientRefusesLargeStreamedResponse()
    {
        using var channel = await ConnectAsync(new GrpcChannelOptions { MaxReceiveMessageSize = 1024 * 1024 });
        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, OutputRequest([10, 2 * 1024 * 1024, 10]), Call());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        AssertZeros(call.ResponseStream.Current.Payload, 10);

        var ex = await AssertFailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), call, StatusCode.ResourceExhausted);
        Assert.Contains("Received message exceeds the maximum configured message size", ex.Status.Detail, StringComparison.Ordinal);
        await AssertChannelUsableAsync(channel);
    }
}
