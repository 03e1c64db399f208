using System.Diagnostics.Metrics;

namespace ControlPlane.Server.Stats;

/// <summary>
/// The load-report instruments (meter "ControlPlane.Stats"). In Prometheus:
/// <c>controlplane_stats_load_reports_total{result}</c> (accepted, duplicate, gap, invalid),
/// <c>controlplane_stats_requests_counted_total</c> (requests in accepted reports: what billing
/// will count) and <c>controlplane_stats_report_streams</c> (open report streams).
/// </summary>
public sealed class StatsMetrics : IDisposable
{
    public const string MeterName = "ControlPlane.Stats";

    private readonly Meter _meter;
    private readonly Counter<long> _reports;
    private readonly Counter<long> _requests;
    private readonly UpDownCounter<long> _streams;

    public StatsMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _reports = _meter.CreateCounter<long>("controlplane.stats.load_reports", "{report}", "Load reports received, by result: accepted, duplicate (a resend, not counted again), gap (reports missing before it; the node resends), invalid.");
        _requests = _meter.CreateCounter<long>("controlplane.stats.requests_counted", "{request}", "Requests counted from accepted load reports.");
        _streams = _meter.CreateUpDownCounter<long>("controlplane.stats.report_streams", "{stream}", "Open load-report streams.");
    }

    public void Report(ReportDisposition disposition, long requests)
    {
        _reports.Add(1, new KeyValuePair<string, object?>("result", disposition switch
        {
            ReportDisposition.Accepted => "accepted",
            ReportDisposition.Duplicate => "duplicate",
            _ => "gap",
        }));
        if (disposition == ReportDisposition.Accepted && requests > 0)
        {
            _requests.Add(requests);
        }
    }

    public void Invalid() => _reports.Add(1, new KeyValuePair<string, object?>("result", "invalid"));

    public void StreamOpened() => _streams.Add(1);

    public void StreamClosed() => _streams.Add(-1);

    public void Dispose() => _meter.Dispose();
}
