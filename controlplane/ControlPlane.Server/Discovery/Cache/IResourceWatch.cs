using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// The boundary between the resource cache and the stream server (go-control-plane's cache/server
/// split): streams read immutable per-type snapshots and are told which resources changed; the cache
/// knows nothing of streams, nodes, nonces or gRPC.
/// </summary>
public interface IResourceWatch
{
    /// <summary>Increases by one with every applied batch of changes that changed at least one resource.</summary>
    long Revision { get; }

    /// <summary>Completes once every resource has been loaded from the stores (until then, snapshots are empty).</summary>
    Task WhenWarm { get; }

    /// <summary>
    /// On a shared store: the store position the snapshots hold every change up to (null before the
    /// first load in step with the store, and always with the embedded store). It advances only once
    /// the changes are loaded, so a replica cut off from its store, or behind it, says so.
    /// </summary>
    StorePosition? Position { get; }

    /// <summary>
    /// The store position responses carry, formatted once per change; empty when there is none. On a
    /// shared store it is at least <see cref="Position"/> and at least the store's position when the
    /// snapshots were last read: a load reads what the store holds then, which may be ahead of the changes
    /// relayed so far (this replica's own writes, another's not yet heard of). A node that carries it to
    /// another replica is thereby served only once that replica holds everything the node may hold.
    /// </summary>
    string PositionText { get; }

    /// <summary>True when the cache follows a shared store's changes (and so has a <see cref="Position"/>).</summary>
    bool FollowsStore { get; }

    /// <summary>
    /// On the embedded store (not <see cref="FollowsStore"/>): this process's epoch, which responses
    /// carry as their store position (<c>&lt;epoch&gt;:0</c>), so a node tells which start of the control
    /// plane its configuration came from; empty when the cache follows a shared store.
    /// </summary>
    string EmbeddedEpoch { get; }

    /// <summary>When the cache was made (the clock's timestamp): the embedded store started then, empty.</summary>
    long StartedAt { get; }

    /// <summary>Completes the next time <see cref="Position"/> advances.</summary>
    Task PositionAdvanced { get; }

    /// <summary>Asks the store for changes now and advances <see cref="Position"/> as far as they are loaded.</summary>
    void CatchUp();

    /// <summary>The current snapshot of <paramref name="typeUrl"/> (empty for an unknown type).</summary>
    ResourceTypeSnapshot Snapshot(string typeUrl);

    /// <summary>
    /// Calls <paramref name="onChanged"/> after every applied batch that changed something, on the
    /// cache's thread, one batch at a time: it must return quickly and never block. Dispose to stop.
    /// </summary>
    IDisposable Watch(Action<ResourceChangeSet> onChanged);
}

/// <summary>A resource's identity: its type URL and name.</summary>
public readonly record struct ResourceKey(string TypeUrl, string Name);

/// <summary>What one applied batch changed (added, changed or removed resources), by type.</summary>
public sealed class ResourceChangeSet
{
    public ResourceChangeSet(long revision, long observedTimestamp, IReadOnlyDictionary<string, IReadOnlySet<string>> namesByType)
    {
        ArgumentNullException.ThrowIfNull(namesByType);
        Revision = revision;
        ObservedTimestamp = observedTimestamp;
        NamesByType = namesByType;
    }

    /// <summary>The cache revision after this batch.</summary>
    public long Revision { get; }

    /// <summary>When the first change of the batch was signalled (<see cref="TimeProvider.GetTimestamp"/>), to measure push latency.</summary>
    public long ObservedTimestamp { get; }

    /// <summary>Changed resource names per type URL; types without changes are absent.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> NamesByType { get; }

    public int Count => NamesByType.Values.Sum(n => n.Count);
}
