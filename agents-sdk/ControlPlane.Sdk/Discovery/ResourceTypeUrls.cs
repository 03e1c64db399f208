using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Discovery;

/// <summary>The type URLs of the resources the control plane pushes (resources.proto).</summary>
public static class ResourceTypeUrls
{
    /// <summary><c>type.googleapis.com/controlplane.v1.EndpointSet</c>: one per image.</summary>
    public static readonly string EndpointSet = "type.googleapis.com/" + Api.V1.EndpointSet.Descriptor.FullName;

    /// <summary><c>type.googleapis.com/controlplane.v1.RoutingPolicy</c>: one per image with a stored policy.</summary>
    public static readonly string RoutingPolicy = "type.googleapis.com/" + Api.V1.RoutingPolicy.Descriptor.FullName;

    /// <summary>The wildcard resource name: every resource of a type.</summary>
    public const string Wildcard = "*";
}
