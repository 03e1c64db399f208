using ControlPlane.Api.V1;

namespace ControlPlane.Server.Resources;

/// <summary>The type URLs of the resources pushed to dataplane nodes (resources.proto).</summary>
public static class ResourceTypes
{
    public static readonly string EndpointSet = "type.googleapis.com/" + Api.V1.EndpointSet.Descriptor.FullName;

    public static readonly string RoutingPolicy = "type.googleapis.com/" + Api.V1.RoutingPolicy.Descriptor.FullName;

    public static bool IsKnown(string typeUrl) => typeUrl == EndpointSet || typeUrl == RoutingPolicy;
}
