using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Clients;

/// <summary>controlplane.v1.RouteService: dry-run routing decisions, computed with the dataplane's balancers.</summary>
public interface IRouteClient
{
    /// <summary>Which instance a request for an image would reach, and why; "not_found" for an image with no instance.</summary>
    Task<PreviewRouteResponse> PreviewRouteAsync(PreviewRouteRequest request, CancellationToken cancellationToken = default);
}
