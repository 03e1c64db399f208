using System.Collections.Frozen;
using ControlPlane.Api.V1;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// What a <see cref="DiscoveryWatcher"/> holds at one moment: immutable, replaced as a whole when an
/// accepted response changes anything, and signalled through <see cref="ChangeToken"/> (the shape of
/// YARP's IProxyConfig), so a load balancer can swap it in atomically.
/// </summary>
public sealed class DiscoverySnapshot
{
    private readonly CancellationTokenSource _changed = new();

    internal DiscoverySnapshot(
        long generation,
        FrozenDictionary<string, VersionedResource<EndpointSet>> endpointSets,
        FrozenDictionary<string, VersionedResource<RoutingPolicy>> routingPolicies)
    {
        Generation = generation;
        EndpointSetMap = endpointSets;
        RoutingPolicyMap = routingPolicies;
        EndpointSets = endpointSets.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);
        RoutingPolicies = routingPolicies.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.Value, StringComparer.Ordinal);
        ChangeToken = new CancellationChangeToken(_changed.Token);
    }

    /// <summary>The snapshot before the first response: nothing known.</summary>
    internal static DiscoverySnapshot Empty { get; } = new(0, FrozenDictionary<string, VersionedResource<EndpointSet>>.Empty, FrozenDictionary<string, VersionedResource<RoutingPolicy>>.Empty);

    /// <summary>0 before the first accepted response, then one more per accepted change.</summary>
    public long Generation { get; }

    /// <summary>Endpoints by image: images with at least one live (healthy or draining) instance.</summary>
    public IReadOnlyDictionary<string, EndpointSet> EndpointSets { get; }

    /// <summary>Routing policies by image; an image without one is routed round_robin.</summary>
    public IReadOnlyDictionary<string, RoutingPolicy> RoutingPolicies { get; }

    /// <summary>Endpoint sets with their resource versions.</summary>
    public IReadOnlyDictionary<string, VersionedResource<EndpointSet>> EndpointSetResources => EndpointSetMap;

    /// <summary>Routing policies with their resource versions.</summary>
    public IReadOnlyDictionary<string, VersionedResource<RoutingPolicy>> RoutingPolicyResources => RoutingPolicyMap;

    internal FrozenDictionary<string, VersionedResource<EndpointSet>> EndpointSetMap { get; }

    internal FrozenDictionary<string, VersionedResource<RoutingPolicy>> RoutingPolicyMap { get; }

    /// <summary>Fires once, when a newer snapshot replaces this one.</summary>
    public IChangeToken ChangeToken { get; }

    internal void SignalChanged() => _changed.Cancel();
}

/// <summary>A pushed resource and its version (opaque; equal versions mean equal content).</summary>
/// <param name="Version">The resource version.</param>
/// <param name="Value">The decoded resource.</param>
public sealed record VersionedResource<T>(string Version, T Value);
