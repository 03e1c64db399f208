namespace ControlPlane.Server.Storage;

/// <summary>
/// Where the registry keeps instances. The embedded in-memory store is the default; the Redis
/// store (scale-out) implements the same contract. Every method is atomic with respect to the
/// others: the duplicate-id and port-conflict guards, renewals and expiry never interleave
/// half-done. Validation happens before the store is called; the store enforces invariants only.
/// </summary>
public interface IRegistryStore
{
    /// <summary>Registers or refreshes an instance, refusing a duplicate id of another name/image and a port held by another live instance.</summary>
    ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Renews the leases of <paramref name="instanceIds"/> (each with its own TTL, or <paramref name="ttlSeconds"/> when positive). Expired and unknown ids answer NotFound.</summary>
    ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Removes an instance at once; null when unknown.</summary>
    ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Tells every replica that instance <paramref name="instanceId"/> of <paramref name="image"/> is gone, when the
    /// store has no record of it: replicas that still send it from a mass-removal hold (their store came back
    /// empty) drop it. A deregistration of such an instance finds nothing to remove, so nothing else would say so.
    /// The embedded store has no other replica and no hold to end.
    /// </summary>
    ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Moves a live instance to draining (or back to healthy); null when unknown or expired.</summary>
    ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default);

    ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>The records of <paramref name="instanceIds"/>, in their order: null for an unknown id.</summary>
    ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default);

    /// <summary>Instances matching <paramref name="query"/>, ordered by instance id.</summary>
    ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Live instances whose deadline has passed at <paramref name="now"/> (at most <paramref name="limit"/>), and the
    /// next moment after it when something falls due: a lease deadline, or the end of an expired instance's <paramref name="retention"/>;
    /// and how many instances expired within <paramref name="recentWindow"/> before <paramref name="now"/> (at most the last hour
    /// is remembered), whoever expired them: self-preservation decides on the whole store's numbers.
    /// </summary>
    ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default);

    /// <summary>Expires those of <paramref name="instanceIds"/> still past their deadline (a heartbeat may have won the race); returns the expired ones.</summary>
    ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Removes instances expired for longer than <paramref name="retention"/>; returns them.</summary>
    ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default);

    ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default);

    /// <summary>Throws when the store cannot be reached (readiness).</summary>
    ValueTask PingAsync(CancellationToken cancellationToken = default);

    /// <summary>True while the store is known to be unreachable (a shared store during an outage); the embedded store never is.</summary>
    bool KnownUnreachable => false;
}
