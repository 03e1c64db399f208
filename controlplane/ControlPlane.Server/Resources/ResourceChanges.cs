namespace ControlPlane.Server.Resources;

/// <summary>
/// The one signal between what changes state (the registry, the policy store, and the change feed
/// that relays other replicas' changes) and what turns state into pushed resources (the discovery
/// cache): "the resource named <c>name</c> of type <c>typeUrl</c> may have changed", or "anything
/// may have changed" when a replica cannot tell what it missed. It carries no content: the listener
/// reads the current state from the stores, so a missed or repeated signal is harmless and equal
/// content keeps its version. An endpoint set's signal may name the instances that changed, so that
/// the listener reads those instead of the image's every one; null means any of them may have.
/// </summary>
public sealed class ResourceChanges
{
    /// <summary>Type URL, name, and for an endpoint set the instances that changed (null: not named).</summary>
    public event Action<string, string, IReadOnlyList<string>?>? Changed;

    /// <summary>Raised by <see cref="EverythingMayHaveChanged"/>: the listener reloads every resource.</summary>
    public event Action? Reset;

    /// <summary>Raised by <see cref="Passed"/>: a store change that alters no resource was relayed.</summary>
    public event Action? PassedOver;

    /// <summary>
    /// Set by the discovery cache while it runs: the image whose endpoint set it still sends instance
    /// <c>id</c> in although the store has no record of it (a mass-removal hold), or null.
    /// </summary>
    public Func<string, string?>? HeldBack { get; set; }

    /// <summary>The image whose endpoint set still carries <paramref name="instanceId"/> from a mass-removal hold; null when none does.</summary>
    public string? HeldImageOf(string instanceId) => HeldBack?.Invoke(instanceId);

    /// <summary>Reports that resource <paramref name="name"/> of <paramref name="typeUrl"/> may have changed.</summary>
    public void Notify(string typeUrl, string name, IReadOnlyList<string>? instanceIds = null) => Changed?.Invoke(typeUrl, name, instanceIds);

    /// <summary>Reports that the endpoint set of <paramref name="image"/> may have changed, in <paramref name="instanceIds"/> when given.</summary>
    public void EndpointsChanged(string image, IReadOnlyList<string>? instanceIds = null) => Notify(ResourceTypes.EndpointSet, image, instanceIds);

    /// <summary>Reports that instance <paramref name="instanceId"/> of <paramref name="image"/> changed.</summary>
    public void EndpointsChanged(string image, string instanceId) => Notify(ResourceTypes.EndpointSet, image, [instanceId]);

    public void PolicyChanged(string image) => Notify(ResourceTypes.RoutingPolicy, image);

    /// <summary>Reports a store change that alters no resource (the store's position moved past it).</summary>
    public void Passed() => PassedOver?.Invoke();

    /// <summary>Reports that any resource may have changed (changes were missed and cannot be named).</summary>
    public void EverythingMayHaveChanged() => Reset?.Invoke();
}
