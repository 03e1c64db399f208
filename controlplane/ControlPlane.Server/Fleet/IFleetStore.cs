using ControlPlane.Api.V1;

namespace ControlPlane.Server.Fleet;

/// <summary>
/// Where replicas sharing a store publish their nodes' sync status, so that every replica lists the
/// whole fleet. One entry per node: a newer stream (later <see cref="FleetEntry.StreamOpenedAt"/>)
/// replaces an older one whichever replica writes it, so a node that moved appears once, as its
/// latest replica sees it. Entries vanish <c>lifetime</c> after their last write.
/// </summary>
public interface IFleetStore
{
    /// <summary>Stores <paramref name="entry"/> unless the node's stored entry is of a newer stream.</summary>
    ValueTask PublishAsync(FleetEntry entry, TimeSpan lifetime, CancellationToken cancellationToken = default);

    /// <summary>Every entry, ordered by node id.</summary>
    ValueTask<IReadOnlyList<FleetEntry>> ListAsync(CancellationToken cancellationToken = default);

    ValueTask<FleetEntry?> GetAsync(string nodeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// While the store is known to be unreachable, how long ago it last answered this replica; null
    /// while it is reachable. A replica out of contact cannot tell whether its configuration is current.
    /// </summary>
    TimeSpan? OutOfContactFor => null;

    /// <summary>False while the store has never answered this replica (it knows nothing of the other replicas' nodes).</summary>
    bool HasAnswered => true;
}

/// <summary>A node's status as one replica saw it.</summary>
/// <param name="Status">The status (connected: state by sync; else DISCONNECTED).</param>
/// <param name="StreamOpenedAt">When the stream it describes opened: the newer stream wins.</param>
/// <param name="PublishedAt">When the replica wrote it; a connected entry not refreshed for long is of a replica that is gone.</param>
public sealed record FleetEntry(DataplaneStatus Status, DateTimeOffset StreamOpenedAt, DateTimeOffset PublishedAt)
{
    public string NodeId => Status.Node.Id;
}
