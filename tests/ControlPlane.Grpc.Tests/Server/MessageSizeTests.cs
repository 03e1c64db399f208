using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class MessageSizeTests
{
    private static SimpleRequest Sized(int bytes) => new() { Payload = new Payload { Body = ByteString.CopyFrom(new byte[bytes]) } };

    [Fact]
    public async Task DefaultLimit_Is4MiB_BothWays()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxSendMessageSize = int.MaxValue });
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, Sized(5 * 1024 * 1024)).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        // Just under the limit passes.
        var ok = await channel.AsyncUnaryCall(InteropMethods.UnaryCall, Sized(4 * 1024 * 1024 - 100)).ResponseAsync.DefaultTimeout();
        Assert.NotNull(ok);
    }

    [Fact]
    public async Task ServerSendLimit_IsResourceExhausted()
    {
        await using var server = await InteropServer.StartAsync(grpc: o => o.MaxSendMessageSize = 1000);
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 2000 }).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Fact]
    public async Task ClientLimits_AreEnforcedLocally()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel(new GrpcChannelOptions { MaxSendMessageSize = 1000, MaxReceiveMessageSize = 1000 });
        var send = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, Sized(2000)).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, send.StatusCode);
        var receive = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 2000 }).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.ResourceExhausted, receive.StatusCode);
    }

    [Fact]
    public async Task Gzip_BothWays()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel(new GrpcChannelOptions { RequestCompression = "gzip" });
        var response = await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest
        {
            ExpectCompressed = true,
            ResponseCompressed = true,
            ResponseSize = 100_000,
            Payload = new Payload { Body = ByteString.CopyFrom(new byte[100_000]) },
        }).ResponseAsync.DefaultTimeout();
        Assert.Equal(100_000, response.Payload.Body.Length);
        server.AssertNoUnexpectedErrors();
    }
}
