namespace ControlPlane.Metrics;

/// <summary>What the Prometheus endpoint exports.</summary>
public sealed class PrometheusMetricsOptions
{
    /// <summary>
    /// Meters to export: an exact meter name, or a prefix ending in <c>*</c> ("ControlPlane.*"),
    /// as OpenTelemetry's <c>AddMeter</c> reads them. The defaults are ours plus the meters ASP.NET Core,
    /// Kestrel, HttpClient and the runtime publish (only those that exist in .NET 10).
    /// </summary>
    public IList<string> Meters { get; } =
    [
        "ControlPlane.*",
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
        "Microsoft.AspNetCore.MemoryPool",
        "System.Net.Http",
        "System.Runtime",
    ];

    /// <summary>
    /// Bucket upper bounds of histograms whose instrument gives no
    /// <see cref="System.Diagnostics.Metrics.InstrumentAdvice{T}.HistogramBucketBoundaries"/>:
    /// the Prometheus client defaults, in seconds. Finite and strictly increasing.
    /// </summary>
    public IReadOnlyList<double> DefaultHistogramBuckets { get; set; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Export <c>process_start_time_seconds</c>, which Prometheus uses to tell restarts apart. Default true.</summary>
    public bool ExportProcessStartTime { get; set; } = true;
}
