using System.Net;
using System.Net.Http.Json;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using ControlPlane.LoadBalancing;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>
/// An HTTP/2 instance that refuses a request's stream (RST_STREAM REFUSED_STREAM, on the wire as
/// Kestrel sends it) did not process it (RFC 9113 §8.7), so the request may go again whatever its
/// method, as long as nothing of its body was taken from the client. HttpClient sends it again on
/// fresh streams to the same instance first (three times); still refused, the node retries it on
/// another instance, within the retry budget. A refusal is an instance at its limit, not a failing
/// one: passive health does not count it (one failure ejects here). Round robin starts at the
/// first endpoint, the refusing one.
/// </summary>
public sealed class RefusedStreamTests
{
    private const long Length = 1024 * 1024;

    [Fact]
    public async Task ARefusedPost_WhoseBodyTheNodeHadNotTaken_GoesWholeToAnotherInstance()
    {
        await using var refusing = await TestBackend.StartAsync("refusing", http2: true);
        refusing.RefuseStreams = TestBackend.Refusal.AtOnce;
        await using var live = await TestBackend.StartAsync("live", http2: true);
        await using var node = await StartNodeAsync(refusing, live);
        using var client = node.CreateH2cClient();
        // The client holds its body back until the request is at the live instance: nothing of it can
        // have been taken while the refusing one was tried.
        var atLive = Eventually.WaitAsync("the request at the live instance", () => !live.Requests.IsEmpty);
        using var request = Http2(HttpMethod.Post, "/g/img/upload", new PatternContent(Length, chunked: true, pauseAfter: 0, resume: atLive));

        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<TestBackend.UploadResult>().DefaultTimeout();
        Assert.Equal((Length, TestBackend.PatternSha256(Length)), (result!.Bytes, result.Sha256));
        Assert.Equal(4, refusing.Refused); // its first stream, and HttpClient's three sends on fresh streams
        await AssertRetriedOnceAndRefusingInstanceNotEjectedAsync(node);
    }

    [Fact]
    public async Task ARefusedGet_GoesToAnotherInstance()
    {
        await using var refusing = await TestBackend.StartAsync("refusing", http2: true);
        refusing.RefuseStreams = TestBackend.Refusal.AtOnce;
        await using var live = await TestBackend.StartAsync("live", http2: true);
        await using var node = await StartNodeAsync(refusing, live);
        using var client = node.CreateH2cClient();

        using var response = await client.SendAsync(Http2(HttpMethod.Get, "/g/img/x")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("live", response.Headers.GetValues("X-Backend").Single());
        Assert.Equal(4, refusing.Refused);
        await AssertRetriedOnceAndRefusingInstanceNotEjectedAsync(node);
    }

    [Fact]
    public async Task ARefusedGrpcCall_IsRetriedOnAnotherInstance()
    {
        // A client-streaming call: its HEADERS go first, its messages once the call is at the live instance.
        await using var refusing = await TestBackend.StartAsync("refusing", http2: true);
        refusing.RefuseStreams = TestBackend.Refusal.AtOnce;
        var atLive = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var live = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app =>
            {
                app.Use(next => context =>
                {
                    atLive.TrySetResult();
                    return next(context);
                });
                app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
            },
        });
        await using var node = await DataplaneFixture.StartAsync(RotationFromTheFirst, "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("refusing", refusing.Port, protocol: "h2c"));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("live", live.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("img", set));
        using var channel = GrpcChannel.ForAddress(node.H2c, new GrpcChannelOptions
        {
            HttpHandler = new PrefixHandler("/g/img") { InnerHandler = new SocketsHttpHandler { UseProxy = false } },
            DisposeHttpHandler = true,
        });

        using var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall);
        await Task.WhenAny(atLive.Task, call.ResponseAsync).DefaultTimeout();
        Assert.True(atLive.Task.IsCompleted, $"The call ended before it reached the live instance: {call.ResponseAsync.Exception?.InnerException?.Message}");
        foreach (var size in new[] { 27182, 8, 1828 })
        {
            await call.RequestStream.WriteAsync(new StreamingInputCallRequest { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } }).DefaultTimeout();
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        Assert.Equal(27182 + 8 + 1828, (await call.ResponseAsync.DefaultTimeout()).AggregatedPayloadSize);
        Assert.Equal(4, refusing.Refused);
        await AssertRetriedOnceAndRefusingInstanceNotEjectedAsync(node);
        live.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ARefusedPost_WhoseBodyWasSent_IsAnswered502_NotSentAgain_AndNotHeldAgainstTheInstance()
    {
        // The instance takes the whole body, then refuses: what the node took from the client is gone.
        await using var refusing = await TestBackend.StartAsync("refusing", http2: true);
        refusing.RefuseStreams = TestBackend.Refusal.AfterBody;
        await using var live = await TestBackend.StartAsync("live", http2: true);
        await using var node = await StartNodeAsync(refusing, live);
        using var client = node.CreateH2cClient();

        using var response = await client.SendAsync(Http2(HttpMethod.Post, "/g/img/upload", new StringContent("once only"))).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ErrorBody>().DefaultTimeout();
        Assert.Equal("backend_unreachable", error!.Error.Code);
        Assert.Equal("the instance refused the request (HTTP/2 REFUSED_STREAM) once part of its body was sent, which cannot be sent again", error.Error.Detail);
        Assert.Empty(live.Requests);
        Assert.Equal(1, refusing.Refused);
        using var ops = node.CreateClient();
        var metrics = "";
        await Eventually.WaitAsync("the request counted", async () =>
        {
            metrics = await ops.GetStringAsync("/metrics").DefaultTimeout();
            return metrics.Contains("controlplane_dataplane_requests_total{image=\"img\",status_class=\"5xx\"} 1", StringComparison.Ordinal);
        });
        Assert.DoesNotContain("controlplane_dataplane_retries_total{image=\"img\"}", metrics, StringComparison.Ordinal);
        AssertRefusingInstanceNotEjected(node, metrics);
    }

    private static async Task<DataplaneFixture> StartNodeAsync(TestBackend refusing, TestBackend live)
    {
        var node = await DataplaneFixture.StartAsync(RotationFromTheFirst, "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf(refusing.Name, refusing.Port, protocol: "h2c"));
        set.Endpoints.Add(DataplaneFixture.EndpointOf(live.Name, live.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("img", set));
        return node;
    }

    private static void RotationFromTheFirst(WebApplicationBuilder builder) =>
        builder.Services.AddSingleton(BalancerOptions.Default with { RandomizeStart = false });

    private static HttpRequestMessage Http2(HttpMethod method, string path, HttpContent? content = null) =>
        new(method, path) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = content };

    private static async Task AssertRetriedOnceAndRefusingInstanceNotEjectedAsync(DataplaneFixture node)
    {
        using var ops = node.CreateClient();
        var metrics = await ops.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Contains("controlplane_dataplane_retries_total{image=\"img\"} 1", metrics, StringComparison.Ordinal);
        AssertRefusingInstanceNotEjected(node, metrics);
    }

    private static void AssertRefusingInstanceNotEjected(DataplaneFixture node, string metrics)
    {
        Assert.DoesNotContain("controlplane_dataplane_ejections_total{image=\"img\"}", metrics, StringComparison.Ordinal);
        var route = node.Config.Current.Images["img"];
        Assert.False(route.Health.IsEjected(route.States[0]));
    }

    private sealed record ErrorBody(ErrorDetail Error);

    private sealed record ErrorDetail(string Code, string Detail);
}
