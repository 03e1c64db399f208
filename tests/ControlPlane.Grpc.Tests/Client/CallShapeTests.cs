using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Tests.Server;
using ControlPlane.Interop.V1;
using Google.Protobuf;

namespace ControlPlane.Grpc.Tests.Client;

/// <summary>All four call shapes, our client against our server, on real Kestrel over loopback h2c.</summary>
public sealed class CallShapeTests
{
    [Fact]
    public async Task Unary_RoundTripsPayloadSizes()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel();
        var response = await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest
        {
            ResponseSize = 314159,
            Payload = new Payload { Body = ByteString.CopyFrom(new byte[271828]) },
        }).ResponseAsync.DefaultTimeout();
        Assert.Equal(314159, response.Payload.Body.Length);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ServerStreaming_DeliversEveryMessageInOrder()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel();
        var request = new StreamingOutputCallRequest();
        int[] sizes = [31415, 9, 2653, 58979];
        request.ResponseParameters.AddRange(sizes.Select(s => new ResponseParameters { Size = s }));
        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, request);
        var received = new List<int>();
        using var timeout = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        await foreach (var m in call.ResponseStream.ReadAllAsync().WithCancellation(timeout.Token))
        {
            received.Add(m.Payload.Body.Length);
        }
        Assert.Equal(sizes, received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_AggregatesRequests()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall);
        foreach (var size in new[] { 27182, 8, 1828, 45904 })
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } }).DefaultTimeout();
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        var response = await call.ResponseAsync.DefaultTimeout();
        Assert.Equal(74922, response.AggregatedPayloadSize);
    }

    [Fact]
    public async Task Duplex_PingPong()
    {
        await using var server = await InteropServer.StartAsync();
        using var channel = server.CreateChannel();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        int[] requestSizes = [27182, 8, 1828, 45904];
        int[] responseSizes = [31415, 9, 2653, 58979];
        for (var i = 0; i < 4; i++)
        {
            var request = new StreamingOutputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[requestSizes[i]]) } };
            request.ResponseParameters.Add(new ResponseParameters { Size = responseSizes[i] });
            await call.RequestStream.WriteAsync(request).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken).DefaultTimeout());
            Assert.Equal(responseSizes[i], call.ResponseStream.Current.Payload.Body.Length);
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(TestContext.Current.CancellationToken).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task StreamingCalls_ReachTheServer_BeforeTheClientWritesAnything()
    {
        // A stream whose server speaks first (a watch that pushes before the node asks) must not wait for the
        // client's first message: the request headers leave at once. On a connection that is already open,
        // nothing else would flush them.
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var channel = server.CreateChannel();
        await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest(), new CallOptions()).ResponseAsync.DefaultTimeout();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.Duplex = async (_, responses, _) =>
        {
            started.TrySetResult();
            await responses.WriteAsync(new StreamingOutputCallResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[7]) } });
        };
        using var duplex = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        await started.Task.DefaultTimeout();
        Assert.True(await duplex.ResponseStream.MoveNext(TestContext.Current.CancellationToken).DefaultTimeout());
        Assert.Equal(7, duplex.ResponseStream.Current.Payload.Body.Length);

        using var clientStreaming = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall);
        await hooks.Started.Task.DefaultTimeout();
        await clientStreaming.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.Equal(0, (await clientStreaming.ResponseAsync.DefaultTimeout()).AggregatedPayloadSize);
    }

    [Fact]
    public async Task Duplex_RefusedAtOnceByTheServer_WritesReportTheServersStatus()
    {
        // A server that refuses a stream before reading (auth) ends it while the client may be writing:
        // the write must surface the call's status, never a bare cancellation.
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureGrpc = g => g.AddInterceptor<RefuseEverything>(),
            Map = app => ControlPlane.Grpc.Server.GrpcServerExtensions.MapGrpcService<InteropTestService>(app, InteropMethods.TestService),
        });
        using var channel = server.CreateChannel();
        for (var i = 0; i < 50; i++)
        {
            using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (true)
                {
                    await call.RequestStream.WriteAsync(new StreamingOutputCallRequest()).DefaultTimeout();
                }
            });
            Assert.True(error.StatusCode == StatusCode.PermissionDenied, $"call {i}: {error.Status}");
        }
    }

    private sealed class RefuseEverything : ControlPlane.Grpc.Server.IServerInterceptor
    {
        public Task InterceptAsync(ControlPlane.Grpc.Server.ServerCallContext context, ControlPlane.Grpc.Server.ServerCallContinuation next) =>
            throw new RpcException(StatusCode.PermissionDenied, "no");
    }
}
