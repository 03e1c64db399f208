using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>
/// controlplane.v1.DiscoveryService: the raw xDS-style streams (the dataplane token is sent when
/// configured). Most callers want <see cref="Discovery.DiscoveryWatcher"/>, which runs the protocol
/// (subscriptions, ACK/NACK, resume, reconnect) on top of <see cref="OpenDeltaStream"/>.
/// </summary>
public interface IDiscoveryClient
{
    /// <summary>Opens an incremental (delta) stream.</summary>
    ControlPlaneStream<DeltaResourcesRequest, DeltaResourcesResponse> OpenDeltaStream(CancellationToken cancellationToken = default);

    /// <summary>Opens a state-of-the-world stream.</summary>
    ControlPlaneStream<StreamResourcesRequest, StreamResourcesResponse> OpenStateOfTheWorldStream(CancellationToken cancellationToken = default);
}
