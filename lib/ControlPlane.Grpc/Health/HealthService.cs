using ControlPlane.Grpc.Server;
using Grpc.Health.V1;

namespace ControlPlane.Grpc.Health;

/// <summary>grpc.health.v1.Health: Check answers now, Watch streams every change.</summary>
public sealed class HealthService(HealthStatusRegistry statuses)
{
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        var status = statuses.GetStatus(request.Service)
            ?? throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.");
        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        var reader = statuses.Watch(request.Service, context.CancellationToken);
        try
        {
            await foreach (var status in reader.ReadAllAsync(context.CancellationToken))
            {
                await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The watcher left: the normal end of a Watch.
        }
    }
}
