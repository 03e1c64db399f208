using System.Buffers.Binary;
using ControlPlane.Grpc.Server;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Regressions;

/// <summary>
/// Found by CancelAfterFirstResponse against our server, which now and then logged
/// "Error when executing service method '/interop.v1.TestService/FullDuplexCall'. IOException: The
/// client reset the request stream." A client cancelling (RST_STREAM) is a cancellation, not a
/// handler failure. Kestrel's Http2Stream.AbortCore poisons the request body at once but only
/// schedules the RequestAborted cancellation on the thread pool, so a read can fail before
/// RequestAborted is set. On a real server that is a race; this test replays that order exactly.
/// </summary>
public sealed class ClientResetTests
{
    [Fact]
    public async Task RequestBodyResetBeforeRequestAborted_IsACancellationNotAHandlerError()
    {
        var logs = new TestLogSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Services.AddGrpcServer();
        await using var app = builder.Build();
        app.MapGrpcService<InteropTestService>(InteropMethods.TestService);
        var endpoint = ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Single(e => e.RoutePattern.RawText == InteropMethods.FullDuplexCall.Path);

        using var requestAborted = new CancellationTokenSource();
        var context = new DefaultHttpContext { RequestServices = app.Services, RequestAborted = requestAborted.Token };
        context.Request.Protocol = "HTTP/2";
        context.Request.Method = "POST";
        context.Request.Path = InteropMethods.FullDuplexCall.Path;
        context.Request.ContentType = "application/grpc";
        // One request (the handler answers it), then the client's reset.
        context.Request.Body = new ResettingRequestBody(Frame(OutputRequest([1])));
        context.Response.Body = new MemoryStream();

        await endpoint.RequestDelegate!(context).DefaultTimeout();
        await requestAborted.CancelAsync(); // what Kestrel's scheduled work item does, later

        var errors = logs.Errors.ToList();
        Assert.True(errors.Count == 0, "A client reset was logged as an error: " + string.Join(Environment.NewLine, errors));
    }

    private static byte[] Frame(IMessage message)
    {
        var payload = message.ToByteArray();
        var framed = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }
}
