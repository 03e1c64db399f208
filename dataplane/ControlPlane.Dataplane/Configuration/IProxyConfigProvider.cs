namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// Where the node's routing configuration comes from (YARP's <c>IProxyConfigProvider</c> shape):
/// an immutable snapshot, replaced as a whole. A request reads <see cref="Current"/> once and
/// finishes on that snapshot even if a newer one arrives meanwhile; the snapshot's
/// <see cref="ProxyConfig.ChangeToken"/> fires when it has been replaced.
/// </summary>
public interface IProxyConfigProvider
{
    /// <summary>The latest snapshot. Never null: before any configuration is held it is <see cref="ProxyConfig.IsLoaded"/> false.</summary>
    ProxyConfig Current { get; }
}
