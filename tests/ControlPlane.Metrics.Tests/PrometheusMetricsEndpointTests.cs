using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Metrics.Tests;

public sealed partial class PrometheusMetricsEndpointTests
{
    [Fact]
    public async Task Scrape_ShowsKestrelAndAspNetCoreMetrics_ForRequestsServed()
    {
        await using var app = await MetricsTestApp.StartAsync(a => a.MapGet("/hello/{name}", (string name) => "hi " + name));
        using var client = app.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("hi x", await client.GetStringAsync("/hello/x").DefaultTimeout());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/missing").DefaultTimeout()).StatusCode);

        using var response = await client.GetAsync("/metrics").DefaultTimeout();
        var scrape = await response.Content.ReadAsStringAsync().DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Contains("# TYPE http_server_request_duration_seconds histogram\n", scrape);
        var route = "http_request_method=\"GET\",http_response_status_code=\"200\",http_route=\"/hello/{name}\",network_protocol_version=\"1.1\",url_scheme=\"http\"";
        Assert.Contains($"http_server_request_duration_seconds_bucket{{{route},le=\"+Inf\"}} 3\n", scrape);
        Assert.Contains($"http_server_request_duration_seconds_count{{{route}}} 3\n", scrape);
        Assert.Contains("http_response_status_code=\"404\"", scrape);
        Assert.Contains("# TYPE kestrel_active_connections gauge\n", scrape);
        Assert.Matches(KestrelActiveConnections(), scrape);
        Assert.Contains("# TYPE http_server_active_requests gauge\n", scrape);
        Assert.Contains("# TYPE dotnet_gc_heap_total_allocated_bytes_total counter\n", scrape);
        Assert.Contains("# TYPE process_start_time_seconds gauge\n", scrape);
        Assert.EndsWith("\n", scrape);
        Assert.Empty(app.Logs.Errors);
    }

    [Fact]
    public async Task Scrape_IsGzipped_WhenTheScraperAcceptsIt()
    {
        await using var app = await MetricsTestApp.StartAsync();
        using var client = app.CreateClient(decompress: false);

        using var plain = await client.GetAsync("/metrics").DefaultTimeout();
        Assert.Empty(plain.Content.Headers.ContentEncoding);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var gzipped = await client.SendAsync(request).DefaultTimeout();
        Assert.Equal(["gzip"], gzipped.Content.Headers.ContentEncoding);
        Assert.Contains("Accept-Encoding", gzipped.Headers.Vary);
        await using var body = new GZipStream(await gzipped.Content.ReadAsStreamAsync().DefaultTimeout(), CompressionMode.Decompress);
        using var reader = new StreamReader(body);
        var text = await reader.ReadToEndAsync().DefaultTimeout();
        Assert.Contains("# TYPE process_start_time_seconds gauge\n", text);

        using var refused = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        refused.Headers.AcceptEncoding.ParseAdd("gzip;q=0");
        using var identity = await client.SendAsync(refused).DefaultTimeout();
        Assert.Empty(identity.Content.Headers.ContentEncoding);
    }

    [Fact]
    public async Task TwoAppsInOneProcess_EachExportOnlyTheirOwnServerMetrics()
    {
        await using var a = await MetricsTestApp.StartAsync(app => app.MapGet("/only-a", () => "a"));
        await using var b = await MetricsTestApp.StartAsync(app => app.MapGet("/only-b", () => "b"));
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();
        await clientA.GetStringAsync("/only-a").DefaultTimeout();
        await clientB.GetStringAsync("/only-b").DefaultTimeout();

        var scrapeA = await clientA.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("http_route=\"/only-a\"", scrapeA);
        Assert.DoesNotContain("http_route=\"/only-b\"", scrapeA);
    }

    [Fact]
    public async Task ApplicationInstruments_AreExportedFromTheFirstRequest()
    {
        await using var app = await MetricsTestApp.StartAsync(a => a.MapPost("/jobs", (HttpContext http) =>
        {
            var meter = http.RequestServices.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>().Create(new System.Diagnostics.Metrics.MeterOptions("ControlPlane.Jobs"));
            meter.CreateCounter<long>("controlplane.jobs.accepted", "{job}", "Jobs accepted.").Add(1, new KeyValuePair<string, object?>("queue", "default"));
            return Results.Accepted();
        }));
        using var client = app.CreateClient();
        await client.PostAsync("/jobs", null).DefaultTimeout();
        await client.PostAsync("/jobs", null).DefaultTimeout();

        var scrape = await client.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("# HELP controlplane_jobs_accepted_total Jobs accepted.\n# TYPE controlplane_jobs_accepted_total counter\ncontrolplane_jobs_accepted_total{queue=\"default\"} 2\n", scrape);
    }

    [Fact]
    public void MappingWithoutAddPrometheusMetrics_FailsAtStartup_WithTheFix()
    {
        var builder = WebApplication.CreateSlimBuilder();
        using var app = builder.Build();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapPrometheusMetrics());
        Assert.Contains("AddPrometheusMetrics", ex.Message);
    }

    [GeneratedRegex("""kestrel_active_connections\{network_transport="tcp",network_type="ipv4",server_address="127\.0\.0\.1",server_port="\d+"\} [1-9]\n""")]
    private static partial Regex KestrelActiveConnections();
}
