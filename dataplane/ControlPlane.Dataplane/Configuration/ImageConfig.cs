using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// The configuration of one image as a provider receives it: its EndpointSet and RoutingPolicy
/// resources (resources.proto) and their versions. An image with no EndpointSet yet (a policy
/// only), or with an EndpointSet of no endpoints (its instances all expired, their records still
/// retained), is known but has no endpoint: requests get 503 <c>no_routable_endpoint</c>, not 404.
/// </summary>
/// <param name="Image">The image name, the first path segment of <c>/g/{image}/...</c>.</param>
/// <param name="Endpoints">The image's endpoints; null = none.</param>
/// <param name="Policy">The image's routing policy; null = round_robin.</param>
public sealed record ImageConfig(string Image, EndpointSet? Endpoints, RoutingPolicy? Policy = null)
{
    /// <summary>The EndpointSet resource version (from the discovery stream); null = compare by content.</summary>
    public string? EndpointsVersion { get; init; }

    /// <summary>The RoutingPolicy resource version; null = compare by content (or <see cref="RoutingPolicy.Version"/>).</summary>
    public string? PolicyVersion { get; init; }
}
