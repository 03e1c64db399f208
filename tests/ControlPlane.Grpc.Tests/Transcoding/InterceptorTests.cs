using System.Net;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Transcoding.V1;
using ControlPlane.Grpc.Transcoding;
using Google.Api;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>REST calls run the same interceptors as gRPC calls, which see the same call context.</summary>
public sealed class InterceptorTests
{
    [Fact]
    public async Task AuthInterceptor_SeesMethodOptionsAndHeaders_AndRefusesRestLikeGrpc()
    {
        var journal = new Journal();
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Tls = true, // one port for both: ALPN h2 for gRPC, http/1.1 for REST
            ConfigureServices = s => s.AddSingleton(journal).AddSingleton(new TranscodingHooks()).AddGrpcJsonTranscoding(),
            ConfigureGrpc = o => o.AddInterceptor<TimingInterceptor>().AddInterceptor<TokenInterceptor>(),
            Map = app => app.MapGrpcService<TranscodingTestService>(TranscodingTestReflection.Descriptor.Services[0]),
        });
        var thumbprint = server.Certificate!.Thumbprint;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.GetCertHashString() == thumbprint },
        }) { BaseAddress = server.Address };

        var refused = await (await http.GetAsync("/v1/items/x").DefaultTimeout()).JsonAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("unauthorized", refused.Reason());
        Assert.Equal("x-token required", (string?)refused["message"]);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/items/x?port=abc");
        request.Headers.Add("X-Token", "let-me-in");
        var invalid = await (await http.SendAsync(request).DefaultTimeout()).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", invalid.Reason());

        using var ok = new HttpRequestMessage(HttpMethod.Get, "/v1/items/x");
        ok.Headers.Add("X-Token", "let-me-in");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(ok).DefaultTimeout()).StatusCode);

        using var channel = server.CreateChannel();
        var method = new Method<Item, Item>(TranscodingTestReflection.Descriptor.Services[0].FindMethodByName("Echo"));
        await channel.AsyncUnaryCall(method, new Item(), new CallOptions(new Metadata().Add("x-token", "let-me-in"))).ResponseAsync.DefaultTimeout();

        Assert.Equal(
            [
                "REST /transcoding.v1.TranscodingTestService/Echo GET /v1/items/{name} token=: Unauthenticated",
                "REST /transcoding.v1.TranscodingTestService/Echo GET /v1/items/{name} token=let-me-in: InvalidArgument",
                "REST /transcoding.v1.TranscodingTestService/Echo GET /v1/items/{name} token=let-me-in: OK",
                "gRPC /transcoding.v1.TranscodingTestService/Echo GET /v1/items/{name} token=let-me-in: OK",
            ],
            journal.Lines);
        server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task RestCallContext_HasPeerHeadersAndCancellation()
    {
        await using var rest = await RestTestServer.StartAsync();
        var seen = new TaskCompletionSource<(bool Transcoded, string Method, string Peer, Metadata Headers, DateTime Deadline, bool CanCancel)>();
        rest.Hooks.Echo = (request, context) =>
        {
            seen.SetResult((context.IsJsonTranscoded(), context.Method.Name, context.Peer, context.RequestHeaders, context.Deadline, context.CancellationToken.CanBeCanceled));
            return Task.FromResult(request);
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/items") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Request-ID", "req-1");
        request.Headers.Add("X-Data-Bin", "AP8=");
        Assert.Equal(HttpStatusCode.OK, (await rest.Http.SendAsync(request).DefaultTimeout()).StatusCode);

        var context = await seen.Task.DefaultTimeout();
        Assert.True(context.Transcoded);
        Assert.Equal("Echo", context.Method);
        Assert.StartsWith("ipv4:127.0.0.1:", context.Peer, StringComparison.Ordinal);
        Assert.Equal("req-1", context.Headers.GetValue("x-request-id"));
        Assert.Equal(new byte[] { 0, 255 }, context.Headers.GetValueBytes("x-data-bin"));
        Assert.Null(context.Headers.Get("host"));
        Assert.Null(context.Headers.Get("content-length"));
        Assert.Null(context.Headers.Get("content-type"));
        Assert.Equal(DateTime.MaxValue, context.Deadline);
        Assert.True(context.CanCancel);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task GrpcTimeoutHeader_IsTheRestCallsDeadline()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = async (request, context) =>
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return request;
        };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/items/x");
        request.Headers.Add("grpc-timeout", "50m");
        var error = await (await rest.Http.SendAsync(request).DefaultTimeout()).JsonAsync(HttpStatusCode.GatewayTimeout);
        Assert.Equal(4, (int)error["code"]!);
        Assert.Equal("deadline_exceeded", error.Reason());
        rest.Server.AssertNoUnexpectedErrors();
    }

    public sealed class Journal
    {
        public List<string> Lines { get; } = [];
    }

    /// <summary>What a metrics interceptor does: time the call and record how it ended.</summary>
    private sealed class TimingInterceptor(Journal journal) : IServerInterceptor
    {
        public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
        {
            var protocol = context.IsJsonTranscoded() ? "REST" : "gRPC";
            var rule = context.Method.GetOptions()?.GetExtension(AnnotationsExtensions.Http);
            var line = $"{protocol} {context.MethodPath} GET {rule?.Get} token={context.RequestHeaders.GetValue("x-token")}: ";
            try
            {
                await next(context);
                journal.Lines.Add(line + context.Status.StatusCode);
            }
            catch (RpcException ex)
            {
                journal.Lines.Add(line + ex.StatusCode);
                throw;
            }
        }
    }

    private sealed class TokenInterceptor : IServerInterceptor
    {
        public Task InterceptAsync(ServerCallContext context, ServerCallContinuation next) =>
            context.RequestHeaders.GetValue("x-token") == "let-me-in"
                ? next(context)
                : throw new RpcException(StatusCode.Unauthenticated, "x-token required");
    }
}
