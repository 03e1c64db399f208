using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>Unary calls through our client (<see cref="GrpcChannel"/>), one channel per connection.</summary>
internal sealed class GrpcChannelLoad : IDisposable
{
    private static readonly Method<Payload, Payload> Unary = new(GrpcFrames.Method(nameof(BenchHandler.Unary)));

    private readonly GrpcChannel[] _channels;

    public GrpcChannelLoad(Uri address, int connections)
    {
        _channels = Enumerable.Range(0, connections).Select(_ => GrpcChannel.ForAddress(address)).ToArray();
    }

    public async Task UnaryAsync(int worker, Payload request, LoadContext load)
    {
        var channel = _channels[worker % _channels.Length];
        var options = new CallOptions(cancellationToken: load.Abort);
        while (!load.Stopping)
        {
            using var call = channel.AsyncUnaryCall(Unary, request, options);
            var response = await call.ResponseAsync;
            if (response.Body.Length != request.Body.Length)
            {
                throw new InvalidOperationException($"{channel.Address}: the response payload has {response.Body.Length} bytes, not {request.Body.Length}.");
            }
            load.Add(1);
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
