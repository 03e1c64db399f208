using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Client.Internal;
using ControlPlane.Grpc.Tests.Server;
using ControlPlane.Interop.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Client;

public sealed class ChannelTests
{
    [Fact]
    public async Task Tls_WithAlpn_CarriesAllCallShapes()
    {
        await using var server = await InteropServer.StartAsync(tls: true);
        Assert.Equal("https", server.Address.Scheme);
        using var channel = server.CreateChannel();
        var unary = await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 5 }).ResponseAsync.DefaultTimeout();
        Assert.Equal(5, unary.Payload.Body.Length);
        using var duplex = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Size = 3 });
        await duplex.RequestStream.WriteAsync(request).DefaultTimeout();
        Assert.True(await duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        await duplex.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task StreamsBeyondOneConnectionsLimit_OpenMoreConnections()
    {
        const int Calls = 6;
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var allStarted = new CountdownEvent(Calls);
        var (server, hooks) = await ProbeServer.StartAsync(kestrel: k => k.Limits.Http2.MaxStreamsPerConnection = 2);
        await using var _ = server;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hooks.Unary = async (_, ctx) =>
        {
            connections.TryAdd(ctx.HttpContext.Connection.Id, 0);
            allStarted.Signal();
            await release.Task.WaitAsync(ctx.CancellationToken);
            return new SimpleResponse();
        };
        using var channel = server.CreateChannel();
        var calls = Enumerable.Range(0, Calls).Select(_ => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync).ToArray();
        // All six are in their handlers at once, which two streams per connection only allows on >= 3 connections.
        Assert.True(await Task.Run(() => allStarted.Wait(TaskTimeoutExtensions.Timeout)));
        release.SetResult();
        await Task.WhenAll(calls).DefaultTimeout();
        Assert.True(connections.Count >= 3, $"{connections.Count} connections");
    }

    [Fact]
    public async Task ServerFallsSilentMidStream_KeepAliveTimeoutEndsTheCallUnavailable()
    {
        // A hung server process or a partition: the connection stays open and nothing comes back.
        // PROTOCOL-HTTP2.md: a keepalive timeout on the client is UNAVAILABLE, so callers with
        // other addresses move on instead of treating it as the server's INTERNAL error.
        await using var server = await InteropServer.StartAsync();
        await using var relay = TcpRelay.Start(server.Port);
        using var channel = GrpcChannel.ForAddress(new Uri($"http://127.0.0.1:{relay.Port}"), new GrpcChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(1),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(1),
            KeepAliveWithoutCalls = true,
        });
        using var duplex = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        var request = new StreamingOutputCallRequest();
        request.ResponseParameters.Add(new ResponseParameters { Size = 3 });
        await duplex.RequestStream.WriteAsync(request).DefaultTimeout();
        Assert.True(await duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        relay.Cut();
        var ended = System.Diagnostics.Stopwatch.StartNew();
        var failure = await Assert.ThrowsAsync<RpcException>(() => duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Contains("keepalive", failure.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.True(ended.Elapsed < TimeSpan.FromSeconds(5), $"the silent connection was given up on after {ended.Elapsed}");
    }

    [Fact]
    public async Task ServerEndsTheCallWhileTheClientWritesWithoutReading_TheWriteFailsAtOnce_AndTheStatusIsTheServers()
    {
        // An xDS client ACKs from its read loop: while it writes, nothing reads the response, so the
        // status the server ended the call with waits there, unread. The write must not hold for it,
        // nor replace it with one of its own.
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.Duplex = async (requests, responses, context) =>
        {
            await requests.MoveNext(context.CancellationToken);
            await responses.WriteAsync(new StreamingOutputCallResponse(), context.CancellationToken);
            throw new RpcException(StatusCode.InvalidArgument, "refused by the server");
        };
        using var channel = server.CreateChannel();
        using var duplex = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall);
        await duplex.RequestStream.WriteAsync(new StreamingOutputCallRequest()).DefaultTimeout();
        Assert.True(await duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        RpcException? writeFailure = null;
        var writing = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 10_000 && writeFailure is null; i++)
        {
            try
            {
                await duplex.RequestStream.WriteAsync(new StreamingOutputCallRequest()).DefaultTimeout();
            }
            catch (RpcException ex)
            {
                writeFailure = ex;
            }
        }

        Assert.NotNull(writeFailure);
        Assert.True(writing.Elapsed < TimeSpan.FromSeconds(3), $"the writes took {writing.Elapsed} to fail");
        var ended = await Assert.ThrowsAsync<RpcException>(() => duplex.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal((StatusCode.InvalidArgument, "refused by the server"), (ended.StatusCode, ended.Status.Detail));
    }

    [Fact]
    public void KeepAliveAndPoolSettings_ReachTheHandler()
    {
        using var handler = GrpcChannel.CreateHandler(new GrpcChannelOptions
        {
            KeepAlivePingDelay = TimeSpan.FromSeconds(7),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(3),
            KeepAliveWithoutCalls = true,
        });
        Assert.Equal(TimeSpan.FromSeconds(7), handler.KeepAlivePingDelay);
        Assert.Equal(TimeSpan.FromSeconds(3), handler.KeepAlivePingTimeout);
        Assert.Equal(HttpKeepAlivePingPolicy.Always, handler.KeepAlivePingPolicy);
        Assert.True(handler.EnableMultipleHttp2Connections);
    }

    [Fact]
    public async Task ClientFactory_CreatesTypedClients_ThroughIHttpClientFactory()
    {
        await using var server = await InteropServer.StartAsync();
        var services = new ServiceCollection();
        var seen = new CountingHandler();
        services.AddGrpcClient<TestClient>(o => o.Address = server.Address).AddHttpMessageHandler(() => seen);
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<TestClient>();
        var response = await client.EchoAsync(7).DefaultTimeout();
        Assert.Equal(7, response.Payload.Body.Length);
        Assert.Equal(1, seen.Count);
    }

    [Fact]
    public async Task ServerDown_IsUnavailable()
    {
        var port = FreePort();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
    }

    [Fact]
    public async Task AnHttp1OnlyPort_IsUnavailable_SayingSo_NotPermissionDenied()
    {
        // The REST port given for the gRPC one: Kestrel ends the connection with HTTP_1_1_REQUIRED (0xD).
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            Map = app => app.MapGet("/", () => "rest"),
        });
        using var channel = server.CreateChannel();

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout());

        // Kestrel answers the preface with GOAWAY and closes at once: the client may read the GOAWAY
        // (and says why) or meet the reset first. Either way the call is UNAVAILABLE, never PERMISSION_DENIED.
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        if (ex.Status.Detail.Contains("HTTP/2 error 0xD", StringComparison.Ordinal))
        {
            Assert.Contains("HTTP/1.1 only", ex.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(0xD, StatusCode.Unavailable, "HTTP/1.1 only")]
    [InlineData(0x7, StatusCode.Unavailable, "0x7")]
    [InlineData(0xC, StatusCode.PermissionDenied, "0xC")]
    [InlineData(0xB, StatusCode.ResourceExhausted, "0xB")]
    [InlineData(0x8, StatusCode.Cancelled, "0x8")]
    [InlineData(0x2, StatusCode.Internal, "0x2")]
    [InlineData(0x1, StatusCode.Internal, "0x1")]
    [InlineData(0x42, StatusCode.Internal, "0x42")]
    public void Http2ErrorCodes_MapToStatuses(long errorCode, StatusCode expected, string detail)
    {
        var status = Http2ErrorStatus.From(new HttpProtocolException(errorCode, "ended", null), "Error starting gRPC call");

        Assert.Equal(expected, status.StatusCode);
        Assert.Contains(detail, status.Detail, StringComparison.Ordinal);
        Assert.StartsWith("Error starting gRPC call: HTTP/2 error", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NonGrpcServer_AnswersAreMappedToStatuses()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapPost("/interop.v1.TestService/EmptyCall", (HttpContext ctx) => Results.StatusCode(503)),
        });
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty()).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unavailable, ex.StatusCode);
        Assert.Contains("503", ex.Status.Detail);
    }

    // SocketsHttpHandler sends a refused stream (RST_STREAM REFUSED_STREAM: not processed, RFC 9113 §8.7)
    // again itself, a few times, also after the request's message was sent: the unary call's body is
    // a buffer it can send again. A server that keeps refusing ends the call UNAVAILABLE.
    [Theory]
    [InlineData(1, StatusCode.OK, 2, 2)]
    [InlineData(int.MaxValue, StatusCode.Unavailable, 2, 5)]
    public async Task ARefusedStream_AfterTheRequestWasSent_IsSentAgain_WithItsWholeMessage(int refusals, StatusCode expected, int minCalls, int maxCalls)
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<int>();
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapPost("/interop.v1.TestService/UnaryCall", async (HttpContext ctx) =>
            {
                // The whole request read first: the refusal comes after the client sent its message.
                using var body = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(body);
                seen.Enqueue((int)body.Length);
                if (seen.Count <= refusals)
                {
                    ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResetFeature>()!.Reset(0x7); // REFUSED_STREAM: not processed
                    return;
                }
                ctx.Response.ContentType = "application/grpc";
                ctx.Response.AppendTrailer("grpc-status", "0");
                await ctx.Response.Body.WriteAsync(new byte[5]); // an empty SimpleResponse
            }),
        });
        using var channel = server.CreateChannel();
        var request = new SimpleRequest { ResponseSize = 7 };

        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, request, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        var status = await call.ResponseAsync.ContinueWith(t => t.IsCompletedSuccessfully ? StatusCode.OK : ((RpcException)t.Exception!.InnerException!).StatusCode).DefaultTimeout();

        Assert.Equal(expected, status);
        Assert.InRange(seen.Count, minCalls, maxCalls);
        Assert.All(seen, length => Assert.Equal(5 + request.CalculateSize(), length)); // the message, whole, each time
    }

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    public sealed class TestClient(GrpcChannel channel)
    {
        public Task<SimpleResponse> EchoAsync(int size) =>
            channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = size }).ResponseAsync;
    }

    private sealed class CountingHandler : DelegatingHandler
    {
        public int Count;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Count);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
