using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>
/// A gRPC server stream whose instance is lost midway (its connection aborted, as when the process
/// dies). When what the node has relayed ends on a whole message, the call ends normally with
/// UNAVAILABLE in its trailers, which a gRPC client may retry; when it ends inside a message, that
/// message cannot be taken back, and the client's stream is reset (RST_STREAM INTERNAL_ERROR, which
/// gRPC clients report as INTERNAL). Either way the call counts as the instance's failure.
/// </summary>
public sealed class GrpcInstanceLostTests
{
    private const string Image = "lost";

    /// <summary>Payload sizes of the messages the instance sends: a large one spans several HTTP/2 frames and reads.</summary>
    private static readonly int[] Sizes = [10, 100_000, 1];

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task AStreamLostBetweenMessages_DeliversThemWhole_ThenEndsWithUnavailable(int messages)
    {
        using var release = new SemaphoreSlim(0);
        await using var instance = await StartInstanceAsync(messages, partialBytes: null, release);
        await using var node = await StartNodeAsync(instance);
        using var channel = Channel(node);

        using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, new StreamingOutputCallRequest());
        await call.ResponseHeadersAsync.DefaultTimeout();
        for (var i = 0; i < messages; i++)
        {
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal(Sizes[i], call.ResponseStream.Current.Payload.Body.Length);
        }
        release.Release(); // the client has every whole message: now the instance goes away
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("backend_unreachable: the instance was lost mid-response", error.Status.Detail);
        Assert.Equal("backend_unreachable", error.Status.Reason());
        instance.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AStreamLostInsideAMessage_IsResetAfterTheBytesRelayed_WhichAGrpcClientReadsAsInternal()
    {
        // Two whole messages, then the third's prefix and 2 bytes of its payload. The client reads
        // raw HTTP/2, so it knows when the node has relayed those 7 bytes too.
        using var release = new SemaphoreSlim(0);
        await using var instance = await StartInstanceAsync(messages: 2, partialBytes: 2, release);
        await using var node = await StartNodeAsync(instance);
        using var client = node.CreateH2cClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/g/{Image}/interop.v1.TestService/StreamingOutputCall")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Frame(new StreamingOutputCallRequest().ToByteArray())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        var expected = Frame(Message(Sizes[0])).Concat(Frame(Message(Sizes[1]))).Concat(Frame(Message(Sizes[2])).Take(5 + 2)).ToArray();
        var received = new byte[expected.Length];
        await body.ReadExactlyAsync(received).DefaultTimeout();
        release.Release();
        var error = await Assert.ThrowsAnyAsync<IOException>(async () => await body.ReadAsync(new byte[1]).DefaultTimeout());

        Assert.Equal(expected, received);
        Assert.Equal(0x2, InnerProtocolError(error)?.ErrorCode); // INTERNAL_ERROR: INTERNAL to a gRPC client (PROTOCOL-HTTP2.md)
        Assert.Empty(response.TrailingHeaders); // no grpc-status: the call was broken off, not ended
        instance.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task CallsLostBetweenMessages_CountAsUnavailable_InMetricsLoadReportsAndPassiveHealth()
    {
        // What the client got (UNAVAILABLE) is a 503 for the counts, and the instance's failure: five in a row eject it.
        using var release = new SemaphoreSlim(0);
        await using var instance = await StartInstanceAsync(messages: 1, partialBytes: null, release);
        await using var node = await StartNodeAsync(instance);
        var recorder = node.Services.GetRequiredService<ControlPlane.Dataplane.Reporting.LoadRecorder>();
        recorder.Collect();
        using var channel = Channel(node);

        for (var i = 0; i < 5; i++)
        {
            using var call = channel.AsyncServerStreamingCall(InteropMethods.StreamingOutputCall, new StreamingOutputCallRequest());
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            release.Release();
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        }

        using var client = node.CreateClient();
        // A call is counted as its handler ends, which may be just after the client read its trailers.
        var metrics = "";
        await Eventually.WaitAsync("the five calls counted", async () =>
        {
            metrics = await client.GetStringAsync("/metrics").DefaultTimeout();
            return metrics.Contains($"controlplane_dataplane_requests_total{{image=\"{Image}\",status_class=\"5xx\"}} 5", StringComparison.Ordinal);
        });
        Assert.Contains($"controlplane_dataplane_upstream_errors_total{{code=\"backend_unreachable\",image=\"{Image}\"}} 5", metrics, StringComparison.Ordinal);
        Assert.Contains($"controlplane_dataplane_ejections_total{{image=\"{Image}\"}} 1", metrics, StringComparison.Ordinal);
        var load = recorder.Collect().ToImageLoads().Single(l => l.Image == Image);
        Assert.Equal((5L, 0L, 5L), (load.ReqCount, load.Errors4Xx, load.Errors5Xx));
    }

    /// <summary>
    /// A server stream that sends <paramref name="messages"/> whole messages (then, with
    /// <paramref name="partialBytes"/>, the next one's prefix and that many bytes of its payload),
    /// waits for <paramref name="release"/>, and aborts its connection.
    /// </summary>
    private static Task<GrpcTestServer> StartInstanceAsync(int messages, int? partialBytes, SemaphoreSlim release) =>
        GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapPost("/{**path}", async (HttpContext context) =>
            {
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.FlushAsync();
                for (var i = 0; i < messages; i++)
                {
                    await context.Response.Body.WriteAsync(Frame(Message(Sizes[i])));
                    await context.Response.Body.FlushAsync();
                }
                if (partialBytes is { } partial)
                {
                    await context.Response.Body.WriteAsync(Frame(Message(Sizes[messages])).AsMemory(0, 5 + partial));
                    await context.Response.Body.FlushAsync();
                }
                await release.WaitAsync(context.RequestAborted);
                context.Features.Get<IConnectionLifetimeFeature>()!.Abort();
            }),
        });

    private static async Task<DataplaneFixture> StartNodeAsync(GrpcTestServer instance)
    {
        var node = await DataplaneFixture.StartAsync();
        var set = new EndpointSet { Image = Image };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("i1", instance.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig(Image, set));
        return node;
    }

    private static GrpcChannel Channel(DataplaneFixture node) =>
        GrpcChannel.ForAddress(node.H2c, new GrpcChannelOptions
        {
            HttpHandler = new PrefixHandler("/g/" + Image) { InnerHandler = new SocketsHttpHandler { UseProxy = false } },
            DisposeHttpHandler = true,
        });

    private static byte[] Message(int size) =>
        new StreamingOutputCallResponse { Payload = new Payload { Body = ByteString.CopyFrom(new byte[size]) } }.ToByteArray();

    /// <summary>PROTOCOL-HTTP2.md Length-Prefixed-Message: uncompressed flag, big-endian length, the message.</summary>
    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static HttpProtocolException? InnerProtocolError(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is HttpProtocolException protocol)
            {
                return protocol;
            }
        }
        return null;
    }
}
