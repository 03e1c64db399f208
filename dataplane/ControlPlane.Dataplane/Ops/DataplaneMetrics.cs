using System.Diagnostics.Metrics;
using System.Text;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.Dataplane.Reporting;

namespace ControlPlane.Dataplane.Ops;

/// <summary>
/// The node's instruments (meter "ControlPlane.Dataplane"). In Prometheus:
/// <c>controlplane_dataplane_requests_total{image,status_class}</c> (every proxied request, the
/// proxy's own answers included; 499 = the client went away),
/// <c>controlplane_dataplane_upstream_duration_seconds{image,status_class}</c> (request sent to
/// response headers received), <c>controlplane_dataplane_upstream_errors_total{image,code}</c>,
/// <c>controlplane_dataplane_retries_total{image}</c>, <c>controlplane_dataplane_ejections_total{image}</c>,
/// <c>controlplane_dataplane_config_revision</c>, <c>controlplane_dataplane_config_images</c> and
/// <c>controlplane_dataplane_config_last_change_timestamp_seconds</c>.
/// Requests for images the node does not know are counted under <c>image="_unknown"</c>, so
/// hostile paths cannot grow the series count.
/// <para>
/// With a control plane (<see cref="DiscoveryClient"/>), per resource type (<c>type="EndpointSet"</c>,
/// <c>"RoutingPolicy"</c>): <c>controlplane_dataplane_discovery_acks_total</c>,
/// <c>controlplane_dataplane_discovery_nacks_total</c>, <c>controlplane_dataplane_config_resources</c>
/// and <c>controlplane_dataplane_config_version</c>; <c>controlplane_dataplane_control_plane_connected{address}</c>
/// (1 for the address whose stream is open, 0 for the others) and
/// <c>controlplane_dataplane_config_last_known_good</c> (1 while serving the persisted config); with a
/// state directory, <c>controlplane_dataplane_last_known_good_write_failures_total</c> and
/// <c>controlplane_dataplane_last_known_good_write_timestamp_seconds</c>. NACKs of a type the node does
/// not subscribe to count under <c>type="_other"</c>.
/// With load reporting: <c>controlplane_dataplane_load_reports_pending</c> (reports not yet acknowledged;
/// growing means the control plane does not take them) and <c>controlplane_dataplane_load_reports_set_aside_total</c>
/// (requests of reports a control plane refused as invalid, set aside uncounted).
/// </para>
/// </summary>
internal sealed class DataplaneMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Dataplane";

    /// <summary>The <c>type</c> label of NACKs of a type the node does not subscribe to.</summary>
    public const string OtherType = "_other";

    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _upstreamDuration;
    private readonly Counter<long> _upstreamErrors;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _ejections;

    public DataplaneMetrics(IMeterFactory meterFactory, IProxyConfigProvider config, DiscoveryClient? discovery = null, LoadReporter? reporter = null)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(config);
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("controlplane.dataplane.requests", "{request}", "Requests to /g/{image}/..., by image and status class.");
        _upstreamDuration = _meter.CreateHistogram<double>(
            "controlplane.dataplane.upstream.duration", "s", "Time from sending a request to an instance to receiving its response headers.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        _upstreamErrors = _meter.CreateCounter<long>("controlplane.dataplane.upstream.errors", "{error}", "Requests failed by an instance, by image and error code.");
        _retries = _meter.CreateCounter<long>("controlplane.dataplane.retries", "{retry}", "Requests retried on another endpoint after a connect failure.");
        _ejections = _meter.CreateCounter<long>("controlplane.dataplane.ejections", "{ejection}", "Endpoints ejected by passive health.");
        _meter.CreateObservableGauge("controlplane.dataplane.config.revision", () => config.Current.Revision, "{revision}", "Revision of the configuration in use (0: none yet).");
        _meter.CreateObservableGauge("controlplane.dataplane.config.images", () => config.Current.Images.Count, "{image}", "Images in the configuration in use.");
        // How old the configuration in use is: with the control plane unreachable, how stale it may be.
        _meter.CreateObservableGauge("controlplane.dataplane.config.last_change_timestamp", () => config.Current is { IsLoaded: true } current ? current.CreatedAt.ToUnixTimeMilliseconds() / 1000.0 : 0, "s",
            "When the configuration in use was published, in unix time (0: none yet). A response that changes nothing publishes nothing.");
        if (discovery is not null)
        {
            AddDiscovery(discovery);
        }
        if (reporter is not null)
        {
            _meter.CreateObservableGauge("controlplane.dataplane.load_reports.pending", () => reporter.PendingCount, "{report}",
                "Load reports made but not yet acknowledged by a control plane (kept on disk with a state directory, resent after a reconnect).");
            _meter.CreateObservableCounter("controlplane.dataplane.load_reports.set_aside", () => reporter.SetAsideRequests, "{request}",
                "Requests in load reports (or parts of them) a control plane refused as invalid, set aside uncounted (in load-reports.set-aside.jsonl with a state directory).");
        }
    }

    public static string StatusClass(int status) => status is >= 100 and < 600 ? StatusClasses[status / 100 - 1] : "other";

    public void Request(string image, int status) =>
        _requests.Add(1, new KeyValuePair<string, object?>("image", image), new KeyValuePair<string, object?>("status_class", StatusClass(status)));

    public void UpstreamDuration(string image, TimeSpan elapsed, string statusClass) =>
        _upstreamDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("image", image), new KeyValuePair<string, object?>("status_class", statusClass));

    public void UpstreamError(string image, string code) =>
        _upstreamErrors.Add(1, new KeyValuePair<string, object?>("image", image), new KeyValuePair<string, object?>("code", code));

    public void Retry(string image) => _retries.Add(1, new KeyValuePair<string, object?>("image", image));

    public void Ejection(string image) => _ejections.Add(1, new KeyValuePair<string, object?>("image", image));

    /// <summary>
    /// A version text as a gauge value, as Envoy's <c>version</c> stats hash theirs: the first 52 bits
    /// of its FNV-1a hash (exact in a double). Equal values on two nodes: the same version; the text
    /// itself is in the control plane's fleet view. A label holding the text would add a series per push.
    /// </summary>
    public static long VersionNumber(string? version)
    {
        if (string.IsNullOrEmpty(version))
        {
            return 0;
        }
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(version))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }
        return (long)(hash >> 12);
    }

    private void AddDiscovery(DiscoveryClient discovery)
    {
        var stats = discovery.Stats;
        _meter.CreateObservableCounter("controlplane.dataplane.discovery.acks", () => PerType(stats, t => t.Acks), "{response}", "Discovery responses accepted (ACK), by resource type.");
        _meter.CreateObservableCounter("controlplane.dataplane.discovery.nacks", () => Nacks(stats), "{response}", "Discovery responses rejected (NACK), by resource type (\"_other\": of a type the node did not subscribe to).");
        _meter.CreateObservableGauge("controlplane.dataplane.config.version", () => PerType(stats, t => VersionNumber(t.Version)), "1", "Hash of the system_version_info last accepted, by resource type (0: none yet).");
        _meter.CreateObservableGauge("controlplane.dataplane.config.resources", () => PerType(stats, t => (long)discovery.State.Count(t.TypeUrl)), "{resource}", "Resources held, by type.");
        _meter.CreateObservableGauge("controlplane.dataplane.config.last_known_good", () => discovery.State.ServingLastKnownGood ? 1 : 0, "1", "1 while the configuration in use was loaded from the last-known-good file.");
        _meter.CreateObservableGauge("controlplane.dataplane.control_plane.connected", () => Connected(discovery), "1", "1 for the control plane whose discovery stream is open, 0 for the others.");
        if (discovery.LastKnownGoodPath is not null)
        {
            _meter.CreateObservableCounter("controlplane.dataplane.last_known_good.write_failures", () => discovery.LastKnownGoodWriteFailures, "{write}",
                "Writes of the last-known-good configuration that failed (full disk, read-only state directory ...): a restart would serve an older configuration, or none.");
            _meter.CreateObservableGauge("controlplane.dataplane.last_known_good.write_timestamp", () => discovery.LastKnownGoodWrittenAt is { } at ? at.ToUnixTimeMilliseconds() / 1000.0 : 0, "s",
                "When the last-known-good configuration was last written, in unix time (0: not since start).");
        }
    }

    private static IEnumerable<Measurement<long>> Nacks(DiscoveryStats stats) =>
        PerType(stats, t => t.Nacks).Append(new Measurement<long>(stats.OtherNacks, new KeyValuePair<string, object?>("type", OtherType)));

    private static IEnumerable<Measurement<long>> PerType(DiscoveryStats stats, Func<DiscoveryStats.TypeStats, long> value) =>
        stats.Types.Select(t => new Measurement<long>(value(t), new KeyValuePair<string, object?>("type", t.ShortName)));

    private static IEnumerable<Measurement<int>> Connected(DiscoveryClient discovery)
    {
        var connected = discovery.ConnectedControlPlane;
        return discovery.ControlPlanes.Distinct(StringComparer.Ordinal).Select(address =>
            new Measurement<int>(address == connected ? 1 : 0, new KeyValuePair<string, object?>("address", address)));
    }

    public void Dispose() => _meter.Dispose();
}
