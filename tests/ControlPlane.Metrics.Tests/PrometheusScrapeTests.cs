using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Metrics.Tests;

/// <summary>The exposition as a real Prometheus server reads it: scrape health, parsed labels, PromQL over our histograms.</summary>
public sealed partial class PrometheusScrapeTests
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
        var promtool = ExternalTools.Require("/usr/bin/promtool", "apt-get install prometheus");
        await using var app = await MetricsTestApp.StartAsync(a => a.MapGet("/hello", () => "hi"));
        var meter = app.Services.GetRequiredService<IMeterFactory>().Create(new MeterOptions("ControlPlane.LintTest"));
        meter.CreateCounter<long>("controlplane.lint.events", "{event}", "Events.").Add(1, new KeyValuePair<string, object?>("kind", "a\"b"));
        meter.CreateHistogram<double>("controlplane.lint.wait", "ms", "Waits.").Record(12);
        meter.CreateUpDownCounter<int>("controlplane.lint.queue.size", "By", "Queued bytes.").Add(10);
        using var client = app.CreateClient();
        await client.GetStringAsync("/hello").DefaultTimeout();
        var scrape = await client.GetStringAsync("/metrics").DefaultTimeout();

        var start = new ProcessStartInfo(promtool) { ArgumentList = { "check", "metrics" }, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(scrape).DefaultTimeout();
        process.StandardInput.Close();
        await process.WaitForExitAsync().DefaultTimeout();
        var problems = ((await stdout.DefaultTimeout()) + (await stderr.DefaultTimeout())).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // Exit 1 is a parse error; 3 means lint problems only. The one problem allowed is the
        // runtime's own choice of gauge names ending in "_count" (dotnet.assembly.count ...).
        Assert.True(process.ExitCode is 0 or 3, $"promtool exit {process.ExitCode}: {string.Join(Environment.NewLine, problems)}");
        Assert.All(problems, p => Assert.Matches(RuntimeCountGauge(), p));
        Assert.Contains("controlplane_lint_events_total{kind=\"a\\\"b\"} 1\n", scrape);
        Assert.Contains("controlplane_lint_wait_seconds_sum 0.012\n", scrape);
        Assert.Contains("controlplane_lint_queue_size_bytes 10\n", scrape);
    }

    [GeneratedRegex("""^dotnet_\w+_count non-histogram and non-summary metrics should not have "_count" suffix$""")]
    private static partial Regex RuntimeCountGauge();
}
