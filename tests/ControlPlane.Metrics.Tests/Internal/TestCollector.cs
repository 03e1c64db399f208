using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text;
using ControlPlane.Metrics.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ControlPlane.Metrics.Tests.Internal;

/// <summary>
/// A collector exporting one test's own meter (a unique name, so tests running in parallel never
/// see each other's instruments), scraped in memory.
/// </summary>
internal sealed class TestCollector : IDisposable
{
    private readonly ServiceProvider _services;

    public TestCollector(Action<PrometheusMetricsOptions>? configure = null)
    {
        MeterName = "Test." + Guid.NewGuid().ToString("N");
        var services = new ServiceCollection();
        services.AddMetrics();
        _services = services.BuildServiceProvider();
        MeterFactory = _services.GetRequiredService<IMeterFactory>();
        Meter = new Meter(MeterName);
        var options = new PrometheusMetricsOptions { ExportProcessStartTime = false };
        options.Meters.Clear();
        options.Meters.Add(MeterName);
        configure?.Invoke(options);
        Collector = new MetricsCollector(Options.Create(options), MeterFactory);
        Collector.Start();
    }

    public string MeterName { get; }

    public Meter Meter { get; }

    public IMeterFactory MeterFactory { get; }

    public MetricsCollector Collector { get; }

    public string Scrape()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Collector.Collect(buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The sample lines of a scrape whose name (up to '{' or ' ') is <paramref name="name"/>.</summary>
    public static string[] Lines(string scrape, string name) =>
        scrape.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)).ToArray();

    public void Dispose()
    {
        Collector.Dispose();
        Meter.Dispose();
        _services.Dispose();
    }
}
