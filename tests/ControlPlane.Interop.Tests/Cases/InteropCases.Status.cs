using ControlPlane.Grpc;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Statuses: status_code_and_message, special_status_message, unimplemented_method, unimplemented_service.</summary>
public abstract partial class InteropCases
{
    [Fact]
    public async Task StatusCodeAndMessage_Unary()
    {
        using var channel = await ConnectAsync();
        await AssertUnaryStatusEchoAsync(channel, "test status message");
    }

    [Fact]
    public async Task StatusCodeAndMessage_FullDuplex()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, Call());
        await call.RequestStream.WriteAsync(OutputRequest([], status: new EchoStatus { Code = 2, Message = "test status message" })).DefaultTimeout();
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        var ex = await AssertFailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), call, StatusCode.Unknown);
        Assert.Equal("test status message", ex.Status.Detail);
    }

    [Fact]
    public async Task SpecialStatusMessage()
    {
        using var channel = await ConnectAsync();
        await AssertUnaryStatusEchoAsync(channel, InteropMessages.SpecialStatusMessage);
    }

    [Fact]
    public async Task UnimplementedMethod()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncUnaryCall(InteropMethods.UnimplementedCall, new Empty(), Call());
        await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.Unimplemented);
    }

    [Fact]
    public async Task UnimplementedService()
    {
        using var channel = await ConnectAsync();
        using var call = channel.AsyncUnaryCall(InteropMethods.UnimplementedServiceCall, new Empty(), Call());
        await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.Unimplemented);
    }

    /// <summary>UnaryCall asked to fail with UNKNOWN and <paramref name="message"/>: the client must see exactly that text.</summary>
    private static async Task AssertUnaryStatusEchoAsync(ControlPlane.Grpc.Client.GrpcChannel channel, string message)
    {
        using var call = channel.AsyncUnaryCall(
            InteropMethods.UnaryCall, new SimpleRequest { ResponseStatus = new EchoStatus { Code = 2, Message = message } }, Call());
        var ex = await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.Unknown);
        Assert.Equal(message, ex.Status.Detail);
    }
}
