using System.Diagnostics.Metrics;

namespace ControlPlane.Server.Replication;

/// <summary>
/// How this replica follows the store's changes (meter "ControlPlane.Replication"). In Prometheus:
/// <c>controlplane_replication_revision</c> (the last store revision applied here),
/// <c>controlplane_replication_lag</c> (revisions the store was ahead at the last look; 0 when in step),
/// <c>controlplane_replication_gaps_total</c> (change messages that arrived out of order: one was lost),
/// <c>controlplane_replication_catch_ups_total{how}</c> (log: missed changes read from the change log;
/// reload: everything reloaded), <c>controlplane_replication_lease_extensions_total</c>.
/// </summary>
public sealed class ReplicationMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Replication";

    private readonly Meter _meter;
    private readonly Counter<long> _gaps;
    private readonly Counter<long> _catchUps;
    private readonly Counter<long> _leaseExtensions;

    public ReplicationMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _gaps = _meter.CreateCounter<long>("controlplane.replication.gaps", "{message}", "Change messages that did not follow the last applied revision (one before was lost).");
        _catchUps = _meter.CreateCounter<long>("controlplane.replication.catch_ups", "{catch_up}", "Catch-ups with the store: from the change log, or by reloading everything.");
        _leaseExtensions = _meter.CreateCounter<long>("controlplane.replication.lease_extensions", "{outage}", "Store outages after which this replica extended the leases.");
        _meter.CreateObservableGauge("controlplane.replication.revision", () => Follower?.AppliedRevision ?? -1, "{revision}", "The last store revision whose change this replica applied (-1: not in step yet).");
        _meter.CreateObservableGauge("controlplane.replication.lag", () => Follower?.Lag ?? 0, "{revision}", "Revisions the store was ahead of this replica at the last look.");
    }

    internal ChangeFollower? Follower { get; set; }

    public void Gap() => _gaps.Add(1);

    public void CaughtUp(string how) => _catchUps.Add(1, new KeyValuePair<string, object?>("how", how));

    public void LeasesExtended() => _leaseExtensions.Add(1);

    public void Dispose() => _meter.Dispose();
}
