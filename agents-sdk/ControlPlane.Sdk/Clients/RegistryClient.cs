using ControlPlane.Api.V1;
using M = ControlPlane.Sdk.Clients.ControlPlaneMethods;

namespace ControlPlane.Sdk.Clients;

internal sealed class RegistryClient(IControlPlaneInvoker invoker) : IRegistryClient
{
    public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.Register, request, cancellationToken);

    public Task<HeartbeatResponse> HeartbeatAsync(HeartbeatRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.Heartbeat, request, cancellationToken);

    public ControlPlaneStream<HeartbeatStreamRequest, HeartbeatStreamResponse> OpenHeartbeatStream(CancellationToken cancellationToken = default) =>
        invoker.OpenDuplexStream(M.HeartbeatStream, cancellationToken);

    public Task<DeregisterResponse> DeregisterAsync(DeregisterRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.Deregister, request, cancellationToken);

    public Task<DrainInstanceResponse> DrainInstanceAsync(DrainInstanceRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.DrainInstance, request, cancellationToken);

    public Task<GetInstanceResponse> GetInstanceAsync(GetInstanceRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetInstance, request, cancellationToken);

    public Task<ListServicesResponse> ListServicesAsync(ListServicesRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.ListServices, request, cancellationToken);

    public Task<GetServiceInstancesResponse> GetServiceInstancesAsync(GetServiceInstancesRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetServiceInstances, request, cancellationToken);

    public Task<GetTopologyResponse> GetTopologyAsync(GetTopologyRequest request, CancellationToken cancellationToken = default) =>
        invoker.UnaryAsync(M.GetTopology, request, cancellationToken);
}
