using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Registry;

/// <summary>controlplane.v1.RegistryService over gRPC (and REST, by JSON transcoding of the same methods).</summary>
public sealed class RegistryService(ServiceRegistry registry, RegistryMetrics metrics, IHostApplicationLifetime? lifetime = null)
{
    private readonly CancellationToken _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;

    public Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context) =>
        registry.RegisterAsync(request, context.CancellationToken);

    public Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context) =>
        registry.HeartbeatAsync(request, context.CancellationToken);

    /// <summary>
    /// One stream keeps many instances alive (etcd's LeaseKeepAlive shape): each request names up
    /// to <see cref="RegistryOptions.MaxInstancesPerBeat"/> instances and is answered, in order, with
    /// each one's new deadline or NOT_FOUND (register again).
    /// </summary>
    public async Task HeartbeatStream(IAsyncStreamReader<HeartbeatStreamRequest> requestStream, IServerStreamWriter<HeartbeatStreamResponse> responseStream, ServerCallContext context)
    {
        metrics.HeartbeatStreamOpened();
        // Shutdown ends the stream with UNAVAILABLE, so the agent moves to another replica at once
        // instead of holding this process (and its own heartbeats) until the shutdown timeout.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping);
        try
        {
            while (await requestStream.MoveNext(reading.Token))
            {
                var response = await registry.BeatAsync(requestStream.Current, context.CancellationToken);
                await responseStream.WriteAsync(response, context.CancellationToken);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.Exception(StatusCode.Unavailable, "shutting_down", "the control plane is shutting down; reconnect to another replica");
        }
        finally
        {
            metrics.HeartbeatStreamClosed();
        }
    }

    public Task<DeregisterResponse> Deregister(DeregisterRequest request, ServerCallContext context) =>
        registry.DeregisterAsync(request, context.CancellationToken);

    public Task<DrainInstanceResponse> DrainInstance(DrainInstanceRequest request, ServerCallContext context) =>
        registry.DrainAsync(request, context.CancellationToken);

    public Task<GetInstanceResponse> GetInstance(GetInstanceRequest request, ServerCallContext context) =>
        registry.GetInstanceAsync(request, context.CancellationToken);

    public Task<ListServicesResponse> ListServices(ListServicesRequest request, ServerCallContext context) =>
        registry.ListAsync(request, context.CancellationToken);

    public Task<GetServiceInstancesResponse> GetServiceInstances(GetServiceInstancesRequest request, ServerCallContext context) =>
        registry.GetServiceInstancesAsync(request, context.CancellationToken);

    public Task<GetTopologyResponse> GetTopology(GetTopologyRequest request, ServerCallContext context) =>
        registry.GetTopologyAsync(request, context.CancellationToken);
}
