using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>
/// gRPC through the node: the project's gRPC client on the h2c port, an interop.v1.TestService
/// on the project's gRPC server behind it (h2c). Messages, metadata, trailers and statuses pass
/// unchanged; the proxy's own errors reach gRPC callers as gRPC statuses.
/// </summary>
public sealed class GrpcPassthroughTests
{
    [Fact]
    public async Task Unary_PassesMessagesHeadersAndTrailers()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();
        var metadata = new Metadata()
            .Add(InteropTestService.EchoInitialKey, "initial-value")
            .Add(InteropTestService.EchoTrailingKey, [0xab, 0xcd]);

        using var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 1000 }, new CallOptions(metadata));
        var response = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(1000, response.Payload.Body.Length);
        Assert.Equal("initial-value", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue(InteropTestService.EchoInitialKey));
        Assert.Equal(new byte[] { 0xab, 0xcd }, call.GetTrailers().GetValueBytes(InteropTestService.EchoTrailingKey));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task NonOkStatus_PassesThrough_WithItsMessage()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();

        var request = new SimpleRequest { ResponseStatus = new EchoStatus { Code = (int)StatusCode.FailedPrecondition, Message = "not today ✓" } };
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, request).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("not today ✓", error.Status.Detail);
    }

    [Fact]
    public async Task Unimplemented_PassesThrough()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnimplementedCall, new Interop.V1.Empty()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task ServerStreaming_DeliversEveryMessage()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();
        var request = new StreamingOutputCallRequest();
        foreach (var size in new[] { 10, 100_000, 1, 50_000 })
        {
            request.ResponseParameters.Add(new ResponseParameters { Size = size });
        }

        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, request);
        var sizes = new List<int>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            sizes.Add(call.ResponseStream.Current.Payload.Body.Length);
        }

        Assert.Equal([10, 100_000, 1, 50_000], sizes);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ClientStreaming_DeliversEveryMessage()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();

        using var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall);
        foreach (var size in new[] { 27182, 8, 1828, 45904 })
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } }).DefaultTimeout();
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        Assert.Equal(74922, (await call.ResponseAsync.DefaultTimeout()).AggregatedPayloadSize);
    }

    [Fact]
    public async Task FullDuplex_PingPong_EachAnswerArrivesBeforeTheNextRequest()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();

        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        foreach (var size in new[] { 31415, 9, 2653, 58979 })
        {
            var request = new StreamingOutputCallRequest();
            request.ResponseParameters.Add(new ResponseParameters { Size = size });
            await call.RequestStream.WriteAsync(request).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(size, call.ResponseStream.Current.Payload.Body.Length);
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Deadline_IsEnforcedEndToEnd()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(
            InteropMethods.UnaryCall, new SimpleRequest { SleepMs = 60_000 }, new CallOptions { Timeout = TimeSpan.FromMilliseconds(200) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task AnInstanceThatNeverAnswers_IsCutOffAtTheCallsDeadline_AndCountsAgainstIt()
    {
        // An instance that takes the call and says nothing: no activity clock runs for gRPC, so the
        // call's own deadline (grpc-timeout) is what ends the upstream call and blames the instance.
        var cancelled = 0;
        await using var hung = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapPost("/{**path}", async (Microsoft.AspNetCore.Http.HttpContext context) =>
            {
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                }
            }),
        });
        await using var node = await DataplaneFixture.StartAsync();
        var set = new EndpointSet { Image = "hung" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("h1", hung.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("hung", set));
        using var channel = GrpcChannel.ForAddress(node.H2c, new GrpcChannelOptions
        {
            HttpHandler = new PrefixHandler("/g/hung") { InnerHandler = new SocketsHttpHandler { UseProxy = false } },
            DisposeHttpHandler = true,
        });

        for (var i = 0; i < 5; i++)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(
                InteropMethods.UnaryCall, new SimpleRequest(), new CallOptions { Timeout = TimeSpan.FromMilliseconds(300) }).ResponseAsync).DefaultTimeout();
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }

        using var client = node.CreateClient();
        await Eventually.WaitAsync("the five calls counted against the instance", async () =>
            (await client.GetStringAsync("/metrics").DefaultTimeout()).Contains("controlplane_dataplane_requests_total{image=\"hung\",status_class=\"5xx\"} 5", StringComparison.Ordinal));
        Assert.Contains("controlplane_dataplane_ejections_total{image=\"hung\"} 1", await client.GetStringAsync("/metrics").DefaultTimeout(), StringComparison.Ordinal);
        await Eventually.WaitAsync("every upstream call cancelled", () => Volatile.Read(ref cancelled) == 5);
    }

    [Fact]
    public async Task StreamsEndedByTheirCallersDeadline_DoNotCountAgainstAHealthyInstance()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel();
        var slow = new StreamingOutputCallRequest();
        for (var i = 0; i < 20; i++)
        {
            slow.ResponseParameters.Add(new ResponseParameters { Size = 1, IntervalUs = 100_000 });
        }

        for (var i = 0; i < 6; i++)
        {
            using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, slow, new CallOptions { Timeout = TimeSpan.FromMilliseconds(250) });
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }).DefaultTimeout();
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }

        using var client = env.Node.CreateClient();
        Assert.DoesNotContain("controlplane_dataplane_ejections_total{image=\"grpc-img\"}", await client.GetStringAsync("/metrics").DefaultTimeout(), StringComparison.Ordinal);
        Assert.Equal(3, (await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 3 }).ResponseAsync.DefaultTimeout()).Payload.Body.Length);
    }

    [Fact]
    public async Task UnknownImage_IsUnimplemented_WithReasonNotFound()
    {
        await using var env = await GrpcEnv.StartAsync();
        using var channel = env.Channel("no-such-image");

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Interop.V1.Empty()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Equal("not_found", error.Status.Reason());
    }

    [Fact]
    public async Task DeadInstance_IsUnavailable_WithReasonBackendUnreachable()
    {
        await using var env = await GrpcEnv.StartAsync();
        var set = new EndpointSet { Image = "dead" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("gone", ErrorAnswerTests.ClosedPort(), protocol: "h2c"));
        env.Node.Config.Update(env.Image, new ImageConfig("dead", set));
        using var channel = env.Channel("dead");

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("backend_unreachable", error.Status.Reason());
    }

    [Fact]
    public async Task AnInstancesGrpcErrors_CountByTheirHttpClass_InMetricsLoadReportsAndPassiveHealth()
    {
        // Every gRPC answer is HTTP 200; an instance failing every call with UNAVAILABLE must still count as failing.
        await using var env = await GrpcEnv.StartAsync();
        var recorder = env.Node.Services.GetRequiredService<ControlPlane.Dataplane.Reporting.LoadRecorder>();
        recorder.Collect();
        using var channel = env.Channel();

        await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync.DefaultTimeout();
        var precondition = new SimpleRequest { ResponseStatus = new EchoStatus { Code = (int)StatusCode.FailedPrecondition, Message = "no" } };
        await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, precondition).ResponseAsync).DefaultTimeout();
        var unavailable = new SimpleRequest { ResponseStatus = new EchoStatus { Code = (int)StatusCode.Unavailable, Message = "down" } };
        for (var i = 0; i < 5; i++)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, unavailable).ResponseAsync).DefaultTimeout();
            Assert.Equal(StatusCode.Unavailable, error.StatusCode); // relayed as the instance sent it
        }
        using var client = env.Node.CreateClient();
        // A call is counted as its handler ends, which may be just after the client read its trailers.
        var metrics = "";
        await Eventually.WaitAsync("the seven calls counted", async () =>
        {
            metrics = await client.GetStringAsync("/metrics").DefaultTimeout();
            return metrics.Contains("controlplane_dataplane_requests_total{image=\"grpc-img\",status_class=\"5xx\"} 5", StringComparison.Ordinal);
        });
        Assert.Contains("controlplane_dataplane_requests_total{image=\"grpc-img\",status_class=\"2xx\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_requests_total{image=\"grpc-img\",status_class=\"4xx\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_requests_total{image=\"grpc-img\",status_class=\"5xx\"} 5", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_ejections_total{image=\"grpc-img\"} 1", metrics, StringComparison.Ordinal); // five in a row
        var load = recorder.Collect().ToImageLoads().Single(l => l.Image == "grpc-img");
        Assert.Equal((7L, 1L, 5L), (load.ReqCount, load.Errors4Xx, load.Errors5Xx));
    }

    [Fact]
    public async Task GrpcToAnInstanceWithoutH2cMetadata_StillGoesUpstreamAsHttp2()
    {
        await using var env = await GrpcEnv.StartAsync(declareH2c: false);
        using var channel = env.Channel();

        var response = await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 3 }).ResponseAsync.DefaultTimeout();

        Assert.Equal(3, response.Payload.Body.Length);
    }

    /// <summary>A gRPC server behind a dataplane node, and channels that reach it through <c>/g/{image}</c>.</summary>
    private sealed class GrpcEnv : IAsyncDisposable
    {
        private GrpcEnv(GrpcTestServer server, DataplaneFixture node, ImageConfig image)
        {
            Server = server;
            Node = node;
            Image = image;
        }

        public GrpcTestServer Server { get; }

        public DataplaneFixture Node { get; }

        public ImageConfig Image { get; }

        public static async Task<GrpcEnv> StartAsync(bool declareH2c = true)
        {
            var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
            {
                Map = app => app.MapGrpcService<InteropTestService>(InteropMethods.TestService),
            });
            var node = await DataplaneFixture.StartAsync();
            var set = new EndpointSet { Image = "grpc-img" };
            set.Endpoints.Add(DataplaneFixture.EndpointOf("g1", server.Port, protocol: declareH2c ? "h2c" : null));
            var image = new ImageConfig("grpc-img", set);
            node.Config.Update(image);
            return new GrpcEnv(server, node, image);
        }

        /// <summary>A channel to the node's h2c port whose calls go to <c>/g/{image}/{service}/{method}</c>.</summary>
        public GrpcChannel Channel(string image = "grpc-img") =>
            GrpcChannel.ForAddress(Node.H2c, new GrpcChannelOptions
            {
                HttpHandler = new PrefixHandler("/g/" + image) { InnerHandler = new SocketsHttpHandler { UseProxy = false } },
                DisposeHttpHandler = true,
            });

        public async ValueTask DisposeAsync()
        {
            await Node.DisposeAsync();
            await Server.DisposeAsync();
            Server.AssertNoUnexpectedErrors();
        }
    }
}
