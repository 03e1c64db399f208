using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>Per-test behaviour of <see cref="ProbeService"/>, registered as a singleton in the test server.</summary>
public sealed class ProbeHooks
{
    public Func<SimpleRequest, ServerCallContext, Task<SimpleResponse>> Unary { get; set; } = (_, _) => Task.FromResult(new SimpleResponse());

    /// <summary>Unary calls that reached the handler.</summary>
    public int UnaryCalls => Volatile.Read(ref _unaryCalls);

    private int _unaryCalls;

    internal void CountUnary() => Interlocked.Increment(ref _unaryCalls);

    public Func<StreamingOutputCallRequest, IServerStreamWriter<StreamingOutputCallResponse>, ServerCallContext, Task> ServerStreaming { get; set; } = (_, _, _) => Task.CompletedTask;

    /// <summary>The full-duplex handler; null: echo every request until the client half-closes.</summary>
    public Func<IAsyncStreamReader<StreamingOutputCallRequest>, IServerStreamWriter<StreamingOutputCallResponse>, ServerCallContext, Task>? Duplex { get; set; }

    /// <summary>Completes with the handler's cancellation token once a handler starts.</summary>
    public TaskCompletionSource<CancellationToken> Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Request messages the client-streaming handler has read so far.</summary>
    public int StreamedMessages;

    /// <summary>Completes when a handler observed its cancellation.</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Waits until the call is cancelled (deadline, client cancel, lost connection), recording it.</summary>
    public async Task WaitForCancellationAsync(ServerCallContext context)
    {
        Started.TrySetResult(context.CancellationToken);
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (context.CancellationToken.Register(() => tcs.TrySetResult()))
        {
            await tcs.Task;
        }
        Cancelled.TrySetResult();
        context.CancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>interop.v1.TestService whose unary and server-streaming behaviour each test sets through <see cref="ProbeHooks"/>.</summary>
public sealed class ProbeService(ProbeHooks hooks)
{
    public Task<Empty> EmptyCall(Empty request, ServerCallContext context) => Task.FromResult(new Empty());

    public Task<SimpleResponse> UnaryCall(SimpleRequest request, ServerCallContext context)
    {
        hooks.CountUnary();
        return hooks.Unary(request, context);
    }

    public Task StreamingOutputCall(StreamingOutputCallRequest request, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context) =>
        hooks.ServerStreaming(request, responseStream, context);

    public async Task<StreamingInputCallResponse> StreamingInputCall(IAsyncStreamReader<StreamingInputCallRequest> requestStream, ServerCallContext context)
    {
        hooks.Started.TrySetResult(context.CancellationToken);
        var n = 0;
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                n++;
                Interlocked.Increment(ref hooks.StreamedMessages);
            }
        }
        catch (OperationCanceledException)
        {
            hooks.Cancelled.TrySetResult();
            throw;
        }
        return new StreamingInputCallResponse { AggregatedPayloadSize = n };
    }

    public async Task FullDuplexCall(
        IAsyncStreamReader<StreamingOutputCallRequest> requestStream, IServerStreamWriter<StreamingOutputCallResponse> responseStream, ServerCallContext context)
    {
        if (hooks.Duplex is { } duplex)
        {
            await duplex(requestStream, responseStream, context);
            return;
        }
        hooks.Started.TrySetResult(context.CancellationToken);
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                await responseStream.WriteAsync(new StreamingOutputCallResponse { Payload = requestStream.Current.Payload }, context.CancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            hooks.Cancelled.TrySetResult();
            throw;
        }
    }

    public Task<Empty> UnimplementedCall(Empty request, ServerCallContext context) =>
        throw new RpcException(StatusCode.Unimplemented, "Method is unimplemented.");
}

internal static class ProbeServer
{
    public static async Task<(GrpcTestServer Server, ProbeHooks Hooks)> StartAsync(
        Action<GrpcServerOptions>? grpc = null, bool tls = false, Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>? kestrel = null)
    {
        var hooks = new ProbeHooks();
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureGrpc = grpc,
            ConfigureKestrel = kestrel,
            Tls = tls,
            ConfigureServices = s => Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton(s, hooks),
            Map = app => app.MapGrpcService<ProbeService>(InteropMethods.TestService),
        });
        return (server, hooks);
    }
}
