namespace ControlPlane.Sdk.Discovery;

/// <summary>One resource type a delta stream subscribes to, and which names (<see cref="ResourceTypeUrls.Wildcard"/> for all).</summary>
/// <param name="TypeUrl">The resource type URL.</param>
/// <param name="Names">Resource names (images) to subscribe to.</param>
public sealed record DeltaSubscription(string TypeUrl, IReadOnlyList<string> Names);
