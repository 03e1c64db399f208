namespace ControlPlane.Server.Resources;

/// <summary>
/// The one signal between what changes state (the registry, the policy store, and the change feed
/// that relays other replicas' changes) and what turns state into pushed resources (the discovery
/// cache): "the resource named <c>name</c> of type <c>typeUrl</c> may have changed", or "anything
/// may have changed" when a replica cannot tell what it missed. It carries no content: the listener
/// reads the current state from the stores, so a missed or repeated signal is harmless and equal
/// content keeps its version.
/// </summary>
public sealed class ResourceChanges
{
    public event Action<string, string>? Changed;

    /// <summary>Raised by <see cref="EverythingMayHaveChanged"/>: the listener reloads every resource.</summary>
    public event Action? Reset;

    /// <summary>Reports that resource <paramref name="name"/> of <paramref name="typeUrl"/> may have changed.</summary>
    public void Notify(string typeUrl, string name) => Changed?.Invoke(typeUrl, name);

    public void EndpointsChanged(string image) => Notify(ResourceTypes.EndpointSet, image);

    public void PolicyChanged(string image) => Notify(ResourceTypes.RoutingPolicy, image);

    /// <summary>Reports that any resource may have changed (changes were missed and cannot be named).</summary>
    public void EverythingMayHaveChanged() => Reset?.Invoke();
}
