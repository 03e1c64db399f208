using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// bench.v1.RegistryBaselineService: the registry's call shapes with none of its work. Every answer
/// is a copy of one the registry gave (<see cref="Prime"/>), so it costs the transport the same
/// serialization and bytes; what a registry run costs beyond a run against this is the registry's.
/// </summary>
public sealed class RegistryBaselineHandler
{
    private readonly ConcurrentDictionary<int, HeartbeatResult[]> _results = new();
    private RegisterResponse? _registered;
    private HeartbeatResult? _renewed;

    /// <summary>Takes the answers to give from a real registration and a real renewal.</summary>
    public void Prime(RegisterResponse registered, HeartbeatResult renewed)
    {
        _registered = registered.Clone();
        _renewed = renewed.Clone();
        _results.Clear();
    }

    public Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context) =>
        Task.FromResult(_registered ?? throw new InvalidOperationException("The baseline was not primed."));

    public async Task HeartbeatStream(IAsyncStreamReader<HeartbeatStreamRequest> requestStream, IServerStreamWriter<HeartbeatStreamResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            var response = new HeartbeatStreamResponse { BeatId = request.BeatId };
            response.Results.AddRange(Results(request.InstanceIds.Count));
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    private HeartbeatResult[] Results(int count) => _results.GetOrAdd(count, n =>
    {
        var renewed = _renewed ?? throw new InvalidOperationException("The baseline was not primed.");
        return [.. Enumerable.Repeat(renewed, n)];
    });
}
