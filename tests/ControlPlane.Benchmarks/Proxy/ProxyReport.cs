using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Proxy;

/// <summary>Renders the proxy benchmark's section of docs/benchmarks.md.</summary>
internal static class ProxyReport
{
    public const string Heading = "## Dataplane proxy vs nginx (issue 5)";

    public const string Dataplane = "dataplane";
    public const string Nginx = "nginx";
    public const string Direct = "backend direct";

    public static string Section(ProxySettings s, DateTimeOffset date, ProxyResults r)
    {
        double Peak(string name) => ProxyBenchmark.Median(r.Peaks[name].Select(x => x.RequestsPerSecond));
        TimeSpan PeakP(string name, Func<HttpLoadResult, TimeSpan> p) => TimeSpan.FromTicks((long)ProxyBenchmark.Median(r.Peaks[name].Select(x => (double)p(x).Ticks)));
        TimeSpan RateP(string name, Func<HttpLoadResult, TimeSpan> p) => TimeSpan.FromTicks((long)ProxyBenchmark.Median(r.AtRate[name].Select(x => (double)p(x).Ticks)));
        string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture);

        var throughputRatio = Peak(Dataplane) / Peak(Nginx);
        var added = RateP(Dataplane, x => x.P99) - RateP(Direct, x => x.P99);
        var nginxAdded = RateP(Nginx, x => x.P99) - RateP(Direct, x => x.P99);
        var bytes = ProxyBenchmark.Median(r.AllocatedPerRequest);

        var md = new StringBuilder();
        md.AppendLine(Heading).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{s.Command}`").AppendLine();
        md.AppendLine(BenchmarksDocument.MachineLine(date, r.NginxVersion, r.LoadTools) + $" Load average (1, 5, 15 min) at the start: {r.LoadAverage}.");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Each target warmed up for {s.Warmup.TotalSeconds:0} s, then {s.Rounds} alternating rounds of {s.Duration.TotalSeconds:0} s per load; medians. HTTP/1.1 keep-alive, {s.Connections} connections, a {s.BodyBytes}-byte response body.").AppendLine();

        md.AppendLine("| metric | dataplane | nginx | ratio | backend direct |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| peak requests/s (wrk) | {Peak(Dataplane):N0} | {Peak(Nginx):N0} | {throughputRatio:0.00} | {Peak(Direct):N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| p50 at peak, ms | {Ms(PeakP(Dataplane, x => x.P50))} | {Ms(PeakP(Nginx, x => x.P50))} | | {Ms(PeakP(Direct, x => x.P50))} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| p99 at peak, ms | {Ms(PeakP(Dataplane, x => x.P99))} | {Ms(PeakP(Nginx, x => x.P99))} | | {Ms(PeakP(Direct, x => x.P99))} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| p50 at {r.Rate:N0} requests/s (hey), ms | {Ms(RateP(Dataplane, x => x.P50))} | {Ms(RateP(Nginx, x => x.P50))} | | {Ms(RateP(Direct, x => x.P50))} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| p99 at {r.Rate:N0} requests/s (hey), ms | {Ms(RateP(Dataplane, x => x.P99))} | {Ms(RateP(Nginx, x => x.P99))} | | {Ms(RateP(Direct, x => x.P99))} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| p99 added to the backend's at that rate, ms | {Ms(added)} | {Ms(nginxAdded)} | | |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| allocated per proxied request, bytes | {bytes:N0} | | | |");
        md.AppendLine();

        md.AppendLine("The issue's aims for the dataplane node:").AppendLine();
        md.AppendLine("| aim | measured | met |");
        md.AppendLine("|---|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| at least nginx's throughput (YARP reaches about two thirds) | {throughputRatio:0.00} of nginx's | {(throughputRatio >= ProxySettings.ThroughputRatioAim ? "yes" : "no")} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| under 1 ms added p99 at half of peak load | {Ms(added)} ms | {(added < ProxySettings.AddedP99Aim ? "yes" : "no")} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| under 5 KB allocated per request | {bytes:N0} bytes | {(bytes < ProxySettings.BytesPerRequestAim ? "yes" : "no")} |");
        md.AppendLine();

        md.AppendLine(CultureInfo.InvariantCulture, $"""
            How to read it: one nginx process (master and one worker per core) is both the backend (`return 200`
            with a fixed body) and the baseline reverse proxy in front of it, configured as an operator would
            for an API gateway: an upstream keep-alive pool, the forwarding headers the dataplane sets
            (`X-Forwarded-For/-Proto/-Host/-Prefix`, `X-Request-ID`), no access log. The *dataplane* is
            `ControlPlane.Dataplane` from this build in its own process, logging at Warning, with its config
            (the backend as the image's one instance) from a control plane in another process, forwarding
            `{ProxyBenchmark.Prefix}/<path>` as nginx does. *Backend direct* is the load generators against the backend
            itself: the floor both proxies add to. *Peak*: wrk ({s.Threads} threads, {s.Connections} connections) as fast as the
            answers come. *At a rate*: hey, {s.Connections} connections, paced to half of the dataplane's median peak, the same
            rate for every target; *added* is a proxy's p99 minus the backend's own at that rate. Allocations: the
            dataplane process's `dotnet_gc_heap_total_allocated_bytes_total` (its /metrics) across a peak round,
            divided by the requests wrk counted. Every response of every run must be a 200, or the run fails.
            Load generators, proxies and backend share the machine's {Environment.ProcessorCount} cores.
            """);
        md.AppendLine();
        md.AppendLine("Per-round values:").AppendLine();
        foreach (var name in new[] { Dataplane, Nginx, Direct })
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"- {name}: peak requests/s {string.Join(", ", r.Peaks[name].Select(x => x.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture)))}; " +
                $"p99 at the rate, ms {string.Join(", ", r.AtRate[name].Select(x => Ms(x.P99)))}");
        }
        md.AppendLine(CultureInfo.InvariantCulture, $"- dataplane allocated per request, bytes: {string.Join(", ", r.AllocatedPerRequest.Select(b => b.ToString("N0", CultureInfo.InvariantCulture)))}");
        return md.ToString();
    }
}
