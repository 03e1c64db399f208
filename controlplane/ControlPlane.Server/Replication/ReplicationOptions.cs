namespace ControlPlane.Server.Replication;

/// <summary>The "ControlPlane:Replication" configuration section: how replicas sharing a Redis stay in step.</summary>
public sealed class ReplicationOptions
{
    public const string Section = "ControlPlane:Replication";

    /// <summary>
    /// How often the store's revision is compared with the last one this replica applied, so that a
    /// lost change message is caught up within this time even when no later message reveals the gap.
    /// </summary>
    public TimeSpan RevisionCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Change-log entries read per call while catching up.</summary>
    public int CatchUpBatch { get; set; } = 1000;

    /// <summary>
    /// After a store outage, every live instance's deadline moves to at least now + this; unset (the
    /// default), now + the instance's own TTL: a full lease to send its next heartbeat.
    /// </summary>
    public TimeSpan? LeaseGrace { get; set; }

    /// <summary>
    /// When the store has been unreachable this long, the discovery streams opened before the outage
    /// are ended (UNAVAILABLE, store_unavailable): a node that knows other control planes reconnects
    /// to one, which may still reach the store and have the current configuration; a node that comes
    /// back here, or to another replica cut off too, is served from memory. While the outage lasts,
    /// streams are ended again at doubling intervals (20 s, 40 s ... at the default, at most
    /// <see cref="HandOffNodesMaxInterval"/>), each time those open at least this long, so a
    /// node that came back here while another replica was cut off too moves on once that one reaches
    /// the store again; when every replica is cut off, each node reconnects a few times (a delta node
    /// resumes without a resend). Nodes keep serving their configuration meanwhile. Zero: never; nodes
    /// stay on a replica cut off from the store until it reaches the store again.
    /// </summary>
    public TimeSpan HandOffNodesAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest interval between two rounds of ending streams during one outage. Default 5 min.</summary>
    public TimeSpan HandOffNodesMaxInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws when a setting cannot work (checked when the services are added).</summary>
    public void Validate()
    {
        if (RevisionCheckInterval <= TimeSpan.Zero || CatchUpBatch <= 0 || LeaseGrace < TimeSpan.Zero || HandOffNodesAfter < TimeSpan.Zero || HandOffNodesMaxInterval < HandOffNodesAfter)
        {
            throw new InvalidOperationException($"Invalid {Section} settings: {nameof(RevisionCheckInterval)} and {nameof(CatchUpBatch)} must be positive, {nameof(LeaseGrace)} and {nameof(HandOffNodesAfter)} not negative, {nameof(HandOffNodesMaxInterval)} at least {nameof(HandOffNodesAfter)}");
        }
    }
}
