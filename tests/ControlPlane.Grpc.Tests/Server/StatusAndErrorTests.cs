using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using Google.Rpc;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class StatusAndErrorTests
{
    [Fact]
    public async Task RpcException_ReachesTheClient_WithNonAsciiMessageDetailsAndTrailers()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.Unary = (_, _) => throw new RpcException(
            new Status(StatusCode.NotFound, "no instance « i1 » 😈", new ErrorInfo { Type = "not_found", Domain = "controlplane" }),
            new Metadata().Add("x-hint", "register first").Add("x-raw-bin", [0, 255]));
        using var channel = server.CreateChannel();
        var call = channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest());
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Equal("no instance « i1 » 😈", ex.Status.Detail);
        Assert.Equal("not_found", ex.Status.GetDetail<ErrorInfo>()!.Type);
        Assert.Equal("register first", ex.Trailers.GetValue("x-hint"));
        Assert.Equal(new byte[] { 0, 255 }, ex.Trailers.GetValueBytes("x-raw-bin"));
        Assert.Equal(ex.Status, call.GetStatus());
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ErrorBeforeAnyMessage_IsTrailersOnly()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.Unary = (_, _) => throw new RpcException(StatusCode.PermissionDenied, "no");
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("7", RawHttp2.Header(response.Headers, "grpc-status"));
        Assert.Equal("no", RawHttp2.Header(response.Headers, "grpc-message"));
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync().DefaultTimeout());
        Assert.Empty(response.TrailingHeaders);
    }

    [Fact]
    public async Task HandlerException_IsUnknown_WithoutItsText_AndIsLogged()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.Unary = (_, _) => throw new InvalidOperationException("secret connection string");
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Equal("Exception was thrown by handler.", ex.Status.Detail);
        Assert.Contains(server.Logs.Errors, r => r.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task DetailedErrors_PutTheExceptionInTheStatus()
    {
        var (server, hooks) = await ProbeServer.StartAsync(grpc: o => o.EnableDetailedErrors = true);
        await using var _ = server;
        hooks.Unary = (_, _) => throw new InvalidOperationException("disk full");
        using var channel = server.CreateChannel();
        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync.DefaultTimeout());
        Assert.Equal(StatusCode.Unknown, ex.StatusCode);
        Assert.Contains("InvalidOperationException: disk full", ex.Status.Detail);
    }

    [Fact]
    public async Task ErrorAfterMessages_ArrivesInTrailers()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.ServerStreaming = async (_, stream, ctx) =>
        {
            await stream.WriteAsync(new StreamingOutputCallResponse(), ctx.CancellationToken);
            throw new RpcException(StatusCode.Aborted, "conflict after first");
        };
        using var channel = server.CreateChannel();
        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, new StreamingOutputCallRequest());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.Aborted, ex.StatusCode);
        Assert.Equal("conflict after first", ex.Status.Detail);
    }

    [Theory]
    [InlineData("/interop.v1.TestService/NoSuchMethod", "Method is unimplemented.")]
    [InlineData("/interop.v1.NoSuchService/UnaryCall", "Service is unimplemented.")]
    public async Task UnknownServiceOrMethod_IsUnimplemented(string path, string message)
    {
        var (server, _) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, path, RawHttp2.Frame(new SimpleRequest()));
        Assert.Equal("12", RawHttp2.Header(response.Headers, "grpc-status"));
        Assert.Equal(message, RawHttp2.Header(response.Headers, "grpc-message"));
    }

    [Theory]
    [InlineData("/INTEROP.V1.TESTSERVICE/UNARYCALL")]
    [InlineData("/interop.v1.TestService/UnaryCall/")]
    [InlineData("/interop.v1.TestService/x/../UnaryCall")]
    [InlineData("/interop.v1.TestService/%55naryCall")]
    [InlineData("/interop.v1.TestService/UnaryCall?x=1")]
    public async Task APathThatIsNotTheMethodsExactly_IsUnimplemented_AndTheHandlerNeverRuns(string path)
    {
        // A proxy's rule for the exact path must cover every call that reaches the method (grpc-go matches exactly).
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, path, RawHttp2.Frame(new SimpleRequest()));
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();

        Assert.Equal("12", RawHttp2.GrpcStatus(response));
        Assert.Equal(0, hooks.UnaryCalls);
    }

    [Fact]
    public async Task AHugeEchoedDetail_IsCut_SoTheStatusStillReachesTheClient()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        hooks.Unary = (_, _) => throw new RpcException(StatusCode.NotFound, "unknown service " + new string('x', 2_000_000));
        using var channel = server.CreateChannel();

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.InRange(ex.Status.Detail.Length, 1000, 1100);
        Assert.EndsWith("...", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongContentType_Is415()
    {
        var (server, _) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("content-type", "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Theory]
    [InlineData("application/grpc+json")]
    [InlineData("application/grpc+thrift; charset=utf-8")]
    public async Task AnotherGrpcMessageFormat_IsAGrpcStatus_Unimplemented_NotA415(string contentType)
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("content-type", contentType));
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("12", RawHttp2.GrpcStatus(response));
        Assert.Contains("protobuf", RawHttp2.Header(response.Headers, "grpc-message") ?? "", StringComparison.Ordinal);
        Assert.Equal(0, hooks.UnaryCalls);
    }

    [Fact]
    public async Task Http11_IsRefusedWith426()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            Map = app => app.MapGrpcService<InteropTestService>(InteropMethods.TestService),
        });
        using var http = new HttpClient();
        var content = new ByteArrayContent(RawHttp2.Frame(new SimpleRequest()));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var response = await http.PostAsync(new Uri(server.Address, "/interop.v1.TestService/UnaryCall"), content).DefaultTimeout();
        Assert.Equal(System.Net.HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Equal("h2c", Assert.Single(response.Headers.Upgrade).Name); // what to upgrade to, as a 426 must say
    }

    [Fact]
    public async Task UnsupportedEncoding_IsUnimplemented_AndListsWhatIsAccepted()
    {
        var (server, _) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", RawHttp2.Frame(new SimpleRequest()), ("grpc-encoding", "br"));
        Assert.Equal("12", RawHttp2.Header(response.Headers, "grpc-status"));
        Assert.Equal("identity,gzip,deflate", RawHttp2.Header(response.Headers, "grpc-accept-encoding"));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 10, 1, 2 })]            // truncated payload
    [InlineData(new byte[] { 0, 0, 0 })]                         // truncated header
    [InlineData(new byte[] { 9, 0, 0, 0, 0 })]                   // bad compressed flag
    [InlineData(new byte[] { 1, 0, 0, 0, 1, 0 })]                // compressed, no grpc-encoding
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 0xFF, 0xFF })]       // not protobuf
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]    // two messages to a unary method
    [InlineData(new byte[0])]                                    // no message at all
    public async Task MalformedFrames_AreInternal_AndTheServerKeepsServing(byte[] body)
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/UnaryCall", body);
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.Equal("13", RawHttp2.GrpcStatus(response));
        Assert.False(hooks.Started.Task.IsCompleted);

        using var channel = server.CreateChannel();
        await channel.AsyncUnaryCall(InteropMethods.UnaryCall, new SimpleRequest()).ResponseAsync.DefaultTimeout();
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ClientStream_ManyMessagesInOneWrite_AreEachDelivered()
    {
        var (server, _) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        var one = RawHttp2.Frame(new StreamingInputCallRequest { Payload = new Payload { Body = Google.Protobuf.ByteString.CopyFromUtf8("x") } });
        var body = Enumerable.Repeat(one, 1000).SelectMany(b => b).ToArray();
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/StreamingInputCall", body);
        var bytes = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.Equal("0", RawHttp2.GrpcStatus(response));
        Assert.Equal(1000, StreamingInputCallResponse.Parser.ParseFrom(bytes.AsSpan(5)).AggregatedPayloadSize);
    }

    [Fact]
    public async Task ClientStream_GoodMessagesBeforeABadFrame_AreDelivered_ThenInternal()
    {
        var (server, hooks) = await ProbeServer.StartAsync();
        await using var _ = server;
        using var http = RawHttp2.CreateClient();
        var one = RawHttp2.Frame(new StreamingInputCallRequest());
        byte[] body = [.. one, .. one, .. one, 9, 0, 0, 0, 0];
        using var response = await RawHttp2.PostAsync(http, server, "/interop.v1.TestService/StreamingInputCall", body);
        await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.Equal("13", RawHttp2.GrpcStatus(response));
        Assert.Equal(3, Volatile.Read(ref hooks.StreamedMessages));
        server.AssertNoUnexpectedErrors();
    }
}
