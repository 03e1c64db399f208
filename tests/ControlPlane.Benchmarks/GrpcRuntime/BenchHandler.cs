using System.Collections.Concurrent;
using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// bench.v1.BenchService on our runtime. Handlers do nothing but what the call shape needs, so a
/// run measures the runtime; <see cref="RawGrpcEndpoints"/> answers the same bytes without it.
/// </summary>
public sealed class BenchHandler
{
    private static readonly ConcurrentDictionary<int, Payload> Zeros = new();

    public Task<Payload> Unary(Payload request, ServerCallContext context) => Task.FromResult(request);

    public async Task ServerStream(StreamRequest request, IServerStreamWriter<Payload> responseStream, ServerCallContext context)
    {
        var message = Zeros.GetOrAdd(request.Size, GrpcFrames.ZeroPayload);
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(message);
        }
    }

    public async Task<StreamSummary> ClientStream(IAsyncStreamReader<Payload> requestStream, ServerCallContext context)
    {
        long messages = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            messages++;
        }
        return new StreamSummary { Messages = messages };
    }

    public async Task PingPong(IAsyncStreamReader<Payload> requestStream, IServerStreamWriter<Payload> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            await responseStream.WriteAsync(requestStream.Current);
        }
    }
}
