using System.Diagnostics.Metrics;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Registry;

/// <summary>
/// The registry's instruments (meter "ControlPlane.Registry"). In Prometheus:
/// <c>controlplane_registry_registrations_total{result}</c>, <c>controlplane_registry_heartbeats_total{result,transport}</c>,
/// <c>controlplane_registry_expirations_total</c>, <c>controlplane_registry_removals_total{reason}</c>,
/// <c>controlplane_registry_instances{status}</c>, <c>controlplane_registry_self_preservation</c>,
/// <c>controlplane_registry_self_preservation_activations_total</c>, <c>controlplane_registry_heartbeat_streams</c>.
/// </summary>
public sealed class RegistryMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Registry";

    private readonly Meter _meter;
    private readonly Counter<long> _registrations;
    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _expirations;
    private readonly Counter<long> _removals;
    private readonly Counter<long> _selfPreservationActivations;
    private readonly UpDownCounter<long> _heartbeatStreams;
    private RegistryCounts _counts;
    private int _selfPreservation;

    private readonly IRegistryStore _store;

    public RegistryMetrics(IMeterFactory meterFactory, IRegistryStore store)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _meter = meterFactory.Create(MeterName);
        _registrations = _meter.CreateCounter<long>("controlplane.registry.registrations", "{registration}", "Registration attempts by result.");
        _heartbeats = _meter.CreateCounter<long>("controlplane.registry.heartbeats", "{heartbeat}", "Instance heartbeats by result and transport (stream or unary).");
        _expirations = _meter.CreateCounter<long>("controlplane.registry.expirations", "{instance}", "Instances expired for missing their deadline.");
        _removals = _meter.CreateCounter<long>("controlplane.registry.removals", "{instance}", "Instances removed, by reason (deregistered or retention).");
        _selfPreservationActivations = _meter.CreateCounter<long>(
            "controlplane.registry.self_preservation.activations", "{activation}", "Times self-preservation stopped a mass expiry.");
        _heartbeatStreams = _meter.CreateUpDownCounter<long>("controlplane.registry.heartbeat_streams", "{stream}", "Open heartbeat streams.");
        _meter.CreateObservableGauge("controlplane.registry.instances", ObserveInstances, "{instance}", "Registered instances by status.");
        _meter.CreateObservableGauge("controlplane.registry.self_preservation", () => Volatile.Read(ref _selfPreservation), "1", "1 while self-preservation holds expiry.");
    }

    public void Registered(string result) => _registrations.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Heartbeats(int renewed, int notFound, string transport)
    {
        if (renewed > 0)
        {
            _heartbeats.Add(renewed, new("result", "renewed"), new("transport", transport));
        }
        if (notFound > 0)
        {
            _heartbeats.Add(notFound, new("result", "not_found"), new("transport", transport));
        }
    }

    public void Expired(int count) => _expirations.Add(count);

    public void Removed(int count, string reason) => _removals.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void SelfPreservation(bool engaged)
    {
        Volatile.Write(ref _selfPreservation, engaged ? 1 : 0);
        if (engaged)
        {
            _selfPreservationActivations.Add(1);
        }
    }

    public void HeartbeatStreamOpened() => _heartbeatStreams.Add(1);

    public void HeartbeatStreamClosed() => _heartbeatStreams.Add(-1);

    /// <summary>The latest counts, refreshed by the expiry scheduler; what a scrape shows when the store cannot answer at once.</summary>
    public void UpdateCounts(RegistryCounts counts) => _counts = counts;

    private IEnumerable<Measurement<int>> ObserveInstances()
    {
        // Scrapes run synchronously: take the store's answer when it is immediate (the embedded
        // store), else the last counts the expiry scheduler saw, and never block a scrape on I/O.
        var pending = _store.CountAsync();
        if (pending.IsCompletedSuccessfully)
        {
            _counts = pending.Result;
        }
        else
        {
            _ = pending.AsTask().ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }
        var c = _counts;
        yield return new(c.Healthy, new KeyValuePair<string, object?>("status", "healthy"));
        yield return new(c.Draining, new KeyValuePair<string, object?>("status", "draining"));
        yield return new(c.Expired, new KeyValuePair<string, object?>("status", "expired"));
    }

    public void Dispose() => _meter.Dispose();
}
