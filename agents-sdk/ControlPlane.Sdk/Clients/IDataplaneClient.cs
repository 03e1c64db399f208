using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>controlplane.v1.DataplaneService: the fleet view, what every dataplane node has ACKed or NACKed.</summary>
public interface IDataplaneClient
{
    /// <summary>Lists nodes, filtered by sync state and zone.</summary>
    Task<ListDataplanesResponse> ListDataplanesAsync(ListDataplanesRequest request, CancellationToken cancellationToken = default);

    /// <summary>Reads one node; "not_found" when unknown.</summary>
    Task<GetDataplaneResponse> GetDataplaneAsync(GetDataplaneRequest request, CancellationToken cancellationToken = default);
}
