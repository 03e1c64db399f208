using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>
/// controlplane.v1.RegistryService: registration, liveness and lookup of instances. Every unary
/// method here is idempotent in the protos, so each is retried after UNAVAILABLE. Failures throw
/// <see cref="ControlPlaneException"/> (e.g. <c>ErrorCode</c> "not_found" for an unknown instance).
/// To keep many instances alive, use <see cref="Registration.InstanceRegistrar"/>.
/// </summary>
public interface IRegistryClient
{
    /// <summary>Registers an instance, or renews and updates one with the same id, name and image.</summary>
    Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default);

    /// <summary>Renews one instance's lease; "not_found" when it is unknown or expired (register it again).</summary>
    Task<HeartbeatResponse> HeartbeatAsync(HeartbeatRequest request, CancellationToken cancellationToken = default);

    /// <summary>Opens a heartbeat stream: up to 1000 ids per request, one response per request.</summary>
    ControlPlaneStream<HeartbeatStreamRequest, HeartbeatStreamResponse> OpenHeartbeatStream(CancellationToken cancellationToken = default);

    /// <summary>Removes an instance at once.</summary>
    Task<DeregisterResponse> DeregisterAsync(DeregisterRequest request, CancellationToken cancellationToken = default);

    /// <summary>Marks an instance draining (no new traffic), or healthy again with <c>resume</c>.</summary>
    Task<DrainInstanceResponse> DrainInstanceAsync(DrainInstanceRequest request, CancellationToken cancellationToken = default);

    /// <summary>Reads one instance.</summary>
    Task<GetInstanceResponse> GetInstanceAsync(GetInstanceRequest request, CancellationToken cancellationToken = default);

    /// <summary>Lists instances by name, image and status.</summary>
    Task<ListServicesResponse> ListServicesAsync(ListServicesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Lists the instances of one service.</summary>
    Task<GetServiceInstancesResponse> GetServiceInstancesAsync(GetServiceInstancesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Images, services, instances and dataplane nodes.</summary>
    Task<GetTopologyResponse> GetTopologyAsync(GetTopologyRequest request, CancellationToken cancellationToken = default);
}
