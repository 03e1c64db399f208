using System.Diagnostics.Metrics;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Discovery;

/// <summary>
/// The discovery instruments (meter "ControlPlane.Discovery"). In Prometheus:
/// <c>controlplane_discovery_pushes_total{type,variant}</c>,
/// <c>controlplane_discovery_push_latency_seconds{type}</c> (change signalled to response sent),
/// <c>controlplane_discovery_ack_latency_seconds{type}</c> (change signalled to ACK),
/// <c>controlplane_discovery_nacks_total{type}</c>, <c>controlplane_discovery_stuck_streams_total</c>,
/// <c>controlplane_discovery_streams{variant}</c>, <c>controlplane_discovery_nodes</c>,
/// <c>controlplane_discovery_queued_resources</c> (resources waiting in stream queues),
/// <c>controlplane_discovery_resources{type}</c>, <c>controlplane_discovery_cache_changes_total{type}</c> and
/// <c>controlplane_discovery_endpoints_held</c> (held back by a mass-removal hold).
/// </summary>
internal sealed class DiscoveryMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Discovery";

    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Meter _meter;
    private readonly Counter<long> _pushes;
    private readonly Histogram<double> _pushLatency;
    private readonly Histogram<double> _ackLatency;
    private readonly Counter<long> _nacks;
    private readonly Counter<long> _stuck;
    private readonly Counter<long> _cacheChanges;

    public DiscoveryMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _pushes = _meter.CreateCounter<long>("controlplane.discovery.pushes", "{response}", "Discovery responses sent, by resource type and variant (sotw, delta).");
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets };
        _pushLatency = _meter.CreateHistogram("controlplane.discovery.push.latency", "s", "From a change being signalled to the response carrying it being sent.", advice: advice);
        _ackLatency = _meter.CreateHistogram("controlplane.discovery.ack.latency", "s", "From a change being signalled to the node acknowledging the response carrying it.", advice: advice);
        _nacks = _meter.CreateCounter<long>("controlplane.discovery.nacks", "{response}", "Responses rejected by nodes (NACK), by resource type.");
        _stuck = _meter.CreateCounter<long>("controlplane.discovery.stuck_streams", "{stream}", "Streams closed because their node stopped taking configuration.");
        _cacheChanges = _meter.CreateCounter<long>("controlplane.discovery.cache.changes", "{resource}", "Resources added, changed or removed in the cache, by type.");
        _meter.CreateObservableGauge("controlplane.discovery.streams", ObserveStreams, "{stream}", "Open discovery streams by variant.");
        _meter.CreateObservableGauge("controlplane.discovery.nodes", () => Streams?.Invoke().Nodes ?? 0, "{node}", "Distinct nodes with an open stream.");
        _meter.CreateObservableGauge("controlplane.discovery.queued_resources", () => Streams?.Invoke().Queued ?? 0, "{resource}", "Resources waiting in stream queues to be sent.");
        _meter.CreateObservableGauge("controlplane.discovery.resources", ObserveResources, "{resource}", "Resources in the cache by type.");
        _meter.CreateObservableGauge(
            "controlplane.discovery.endpoints_held", () => EndpointsHeld?.Invoke() ?? 0, "{endpoint}",
            "Endpoints a full reload of the store did not find, still sent to nodes during a mass-removal hold (ControlPlane:Discovery:MassRemovalHold).");
    }

    /// <summary>Endpoints held back by the mass-removal guard, set by the cache.</summary>
    internal Func<int>? EndpointsHeld { get; set; }

    /// <summary>Stream counts for the gauges, set by the stream registry.</summary>
    internal Func<(int Sotw, int Delta, int Nodes, long Queued)>? Streams { get; set; }

    /// <summary>Resource counts per type for the gauges, set by the cache.</summary>
    internal Func<IEnumerable<(string Type, int Count)>>? Resources { get; set; }

    public void Pushed(string typeUrl, string variant) =>
        _pushes.Add(1, new KeyValuePair<string, object?>("type", ShortType(typeUrl)), new KeyValuePair<string, object?>("variant", variant));

    public void PushLatency(string typeUrl, TimeSpan latency) => _pushLatency.Record(latency.TotalSeconds, new KeyValuePair<string, object?>("type", ShortType(typeUrl)));

    public void AckLatency(string typeUrl, TimeSpan latency) => _ackLatency.Record(latency.TotalSeconds, new KeyValuePair<string, object?>("type", ShortType(typeUrl)));

    public void Nack(string typeUrl) => _nacks.Add(1, new KeyValuePair<string, object?>("type", ShortType(typeUrl)));

    public void StuckStreamClosed() => _stuck.Add(1);

    public void CacheChanged(string typeUrl, int count) => _cacheChanges.Add(count, new KeyValuePair<string, object?>("type", ShortType(typeUrl)));

    /// <summary>"EndpointSet" for "type.googleapis.com/controlplane.v1.EndpointSet": short, bounded label values.</summary>
    internal static string ShortType(string typeUrl) =>
        typeUrl == ResourceTypes.EndpointSet ? EndpointSetLabel
        : typeUrl == ResourceTypes.RoutingPolicy ? RoutingPolicyLabel
        : Cut(typeUrl);

    private static string Cut(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('.') + 1)..];

    // The label values of the server's types, cut once: a push records three measurements per stream.
    private static readonly string EndpointSetLabel = Cut(ResourceTypes.EndpointSet);
    private static readonly string RoutingPolicyLabel = Cut(ResourceTypes.RoutingPolicy);

    private IEnumerable<Measurement<int>> ObserveStreams()
    {
        var counts = Streams?.Invoke() ?? default;
        yield return new(counts.Sotw, new KeyValuePair<string, object?>("variant", "sotw"));
        yield return new(counts.Delta, new KeyValuePair<string, object?>("variant", "delta"));
    }

    private IEnumerable<Measurement<int>> ObserveResources()
    {
        foreach (var (type, count) in Resources?.Invoke() ?? [])
        {
            yield return new(count, new KeyValuePair<string, object?>("type", ShortType(type)));
        }
    }

    public void Dispose() => _meter.Dispose();
}
