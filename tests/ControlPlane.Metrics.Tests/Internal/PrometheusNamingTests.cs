using ControlPlane.Metrics.Internal;

namespace ControlPlane.Metrics.Tests.Internal;

public sealed class PrometheusNamingTests
{
    [Theory]
    // What ASP.NET Core, Kestrel, HttpClient, the runtime and our gRPC runtime publish.
    [InlineData("http.server.request.duration", "s", "Histogram", "http_server_request_duration_seconds")]
    [InlineData("kestrel.active_connections", "{connection}", "Gauge", "kestrel_active_connections")]
    [InlineData("rpc.server.calls", "{call}", "Counter", "rpc_server_calls_total")]
    [InlineData("dotnet.gc.pause.time", "s", "Counter", "dotnet_gc_pause_time_seconds_total")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", "Counter", "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("dotnet.process.memory.working_set", "By", "Gauge", "dotnet_process_memory_working_set_bytes")]
    // The runtime's "*.count" gauges: "_count" is reserved for histograms and summaries.
    [InlineData("dotnet.assembly.count", "{assembly}", "Gauge", "dotnet_assemblies_loaded")]
    [InlineData("dotnet.process.cpu.count", "{cpu}", "Gauge", "dotnet_process_cpus")]
    [InlineData("dotnet.timer.count", "{timer}", "Gauge", "dotnet_timers_active")]
    // Conventions: ratios add nothing, suffixes are not doubled, "_total" goes last, names are valid.
    [InlineData("cache.hit-ratio", "1", "Gauge", "cache_hit_ratio")]
    [InlineData("requests_total", null, "Counter", "requests_total")]
    [InlineData("requests.total", "s", "Counter", "requests_seconds_total")]
    [InlineData("latency_seconds", "s", "Histogram", "latency_seconds")]
    [InlineData("queue.wait", "ms", "Histogram", "queue_wait_seconds")]
    [InlineData("link.throughput", "By/s", "Gauge", "link_throughput_bytes_per_second")]
    [InlineData("events.rate", "{event}/s", "Gauge", "events_rate_per_second")]
    [InlineData("Foo.Bar-Baz", "", "Gauge", "foo_bar_baz")]
    [InlineData("9lives", "", "Gauge", "_9lives")]
    [InlineData("a..b//c", "", "Gauge", "a_b_c")]
    [InlineData("ns:sub", "", "Gauge", "ns_sub")]
    [InlineData("widgets", "{widget}", "Counter", "widgets_total")]
    [InlineData("thing", "furlongs", "Gauge", "thing")]
    public void MetricName_FollowsPrometheusConventions(string name, string? unit, string type, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.MetricName(name, unit, Enum.Parse<MetricType>(type)).Name);
    }

    [Theory]
    [InlineData("s", 1)]
    [InlineData("ms", 1e-3)]
    [InlineData("us", 1e-6)]
    [InlineData("ns", 1e-9)]
    [InlineData("By", 1)]
    public void SubSecondUnits_AreConvertedToSeconds(string unit, double scale)
    {
        Assert.Equal(scale, PrometheusNaming.MetricName("x", unit, MetricType.Gauge).Scale);
    }

    [Theory]
    [InlineData("http.route", "http_route")]
    [InlineData("__meta", "_meta")]
    [InlineData("1st", "_1st")]
    [InlineData("a-b c", "a_b_c")]
    [InlineData("rpc_grpc_status_code", "rpc_grpc_status_code")]
    [InlineData("Ünicode", "_nicode")]
    public void LabelName_IsValid_AndStaysOutOfTheReservedPrefix(string key, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.LabelName(key));
    }
}
