using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Metrics.Tests;

/// <summary>The exposition as a real Prometheus server reads it: scrape health, parsed labels, PromQL over our histograms.</summary>
public sealed class PrometheusScrapeTests
{
    private const string Job = "controlplane-test";

    [Fact]
    public async Task RealPrometheus_ScrapesTheEndpoint_AndQueriesCountersAndHistograms()
    {
        ExternalTools.Require(PrometheusServer.Binary, "apt-get install prometheus");
        await using var app = await MetricsTestApp.StartAsync(a => a.MapGet("/hello", () => "hi"));
        var meter = app.Services.GetRequiredService<IMeterFactory>().Create(new MeterOptions("ControlPlane.IntegrationTest"));
        var requests = meter.CreateCounter<long>("controlplane.test.requests", "{request}", "Requests handled.");
        var latency = meter.CreateHistogram<double>("controlplane.test.latency", "ms", "Request latency.");
        const string awkward = "quote \" backslash \\ newline \n end";
        requests.Add(40, new KeyValuePair<string, object?>("route", "/a"));
        requests.Add(2, new KeyValuePair<string, object?>("route", "/a"));
        requests.Add(7, new KeyValuePair<string, object?>("route", awkward));
        for (var i = 0; i < 50; i++)
        {
            latency.Record(10); // 0.01 s: the le="0.01" bucket
            latency.Record(200); // 0.2 s: the le="0.25" bucket
        }
        using var client = app.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            await client.GetStringAsync("/hello").DefaultTimeout();
        }

        await using var prometheus = await PrometheusServer.StartAsync(app.Address, Job);
        await prometheus.WaitForHealthyTargetAsync(Job);

        Assert.Equal(1, await prometheus.WaitForValueAsync($"up{{job=\"{Job}\"}}", v => true));
        Assert.Equal(42, await prometheus.WaitForValueAsync("controlplane_test_requests_total{route=\"/a\"}", v => true));
        var awkwardSeries = await prometheus.QuerySeriesAsync("controlplane_test_requests_total{route!=\"/a\"}");
        Assert.Equal(awkward, Assert.Single(awkwardSeries).Labels["route"]);
        Assert.Equal(7, awkwardSeries[0].Value);
        // Half the values sit at 0.01 s and half at 0.2 s. PromQL interpolates linearly inside a bucket:
        // the median is the top of (0.005, 0.01]; the 90th percentile is 40/50 of the way through (0.1, 0.25].
        Assert.Equal(0.01, await prometheus.WaitForValueAsync("histogram_quantile(0.5, controlplane_test_latency_seconds_bucket)", v => true), 9);
        Assert.Equal(0.22, await prometheus.WaitForValueAsync("histogram_quantile(0.9, controlplane_test_latency_seconds_bucket)", v => true), 9);
        Assert.Equal(10.5, await prometheus.WaitForValueAsync("controlplane_test_latency_seconds_sum", v => true), 9);
        Assert.Equal(5, await prometheus.WaitForValueAsync("sum(http_server_request_duration_seconds_count{http_route=\"/hello\"})", v => true));
        Assert.True(await prometheus.WaitForValueAsync("kestrel_active_connections", v => v >= 1) >= 1);

        // Prometheus counts exposition problems it tolerated; there must be none.
        var own = await prometheus.OwnMetricsAsync();
        Assert.Equal(0, own["prometheus_target_scrapes_sample_duplicate_timestamp_total"]);
        Assert.Equal(0, own["prometheus_target_scrapes_sample_out_of_order_total"]);
        Assert.Equal(0, own["prometheus_target_scrapes_sample_out_of_bounds_total"]);
        Assert.Empty(app.Logs.Errors);
    }

    [Fact]
    public async Task Promtool_ParsesAndLintsTheExposition()
    {
        var promtool = ExternalTools.Require(Promtool.Binary, "apt-get install prometheus");
        await using var app = await MetricsTestApp.StartAsync(a => a.MapGet("/hello", () => "hi"));
        var meter = app.Services.GetRequiredService<IMeterFactory>().Create(new MeterOptions("ControlPlane.LintTest"));
        meter.CreateCounter<long>("controlplane.lint.events", "{event}", "Events.").Add(1, new KeyValuePair<string, object?>("kind", "a\"b"));
        meter.CreateHistogram<double>("controlplane.lint.wait", "ms", "Waits.").Record(12);
        meter.CreateUpDownCounter<int>("controlplane.lint.queue.size", "By", "Queued bytes.").Add(10);
        using var client = app.CreateClient();
        await client.GetStringAsync("/hello").DefaultTimeout();
        var scrape = await client.GetStringAsync("/metrics").DefaultTimeout();

        var result = await Promtool.CheckMetricsAsync(promtool, scrape);

        // No problem at all, the runtime's instruments included (dotnet.assembly.count is a gauge
        // named dotnet_assemblies_loaded: "_count" belongs to histograms and summaries).
        Assert.True(result.ExitCode == 0 && result.Problems.Count == 0, result.ToString());
        Assert.Contains("# TYPE dotnet_assemblies_loaded gauge\n", scrape);
        Assert.Contains("# TYPE dotnet_process_cpus gauge\n", scrape);
        Assert.Contains("# TYPE dotnet_timers_active gauge\n", scrape);
        Assert.Contains("controlplane_lint_events_total{kind=\"a\\\"b\"} 1\n", scrape);
        Assert.Contains("controlplane_lint_wait_seconds_sum 0.012\n", scrape);
        Assert.Contains("controlplane_lint_queue_size_bytes 10\n", scrape);
    }
}
