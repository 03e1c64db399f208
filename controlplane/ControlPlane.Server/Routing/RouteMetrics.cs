using System.Diagnostics.Metrics;

namespace ControlPlane.Server.Routing;

/// <summary>
/// The route preview's instruments (meter "ControlPlane.Routing"). In Prometheus:
/// <c>controlplane_route_previews_total{result}</c>, result ok|invalid|not_found|unavailable.
/// </summary>
public sealed class RouteMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Routing";

    private readonly Meter _meter;
    private readonly Counter<long> _previews;

    public RouteMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _previews = _meter.CreateCounter<long>("controlplane.route.previews", "{preview}", "Route previews by result.");
    }

    public void Preview(string result) => _previews.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Dispose() => _meter.Dispose();
}
