namespace ControlPlane.Metrics.Internal;

/// <summary>The Prometheus metric types this exporter writes (exposition format: <c># TYPE</c>).</summary>
internal enum MetricType
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>How an instrument's measurements combine into the value of one series.</summary>
internal enum Aggregation
{
    /// <summary>Measurements are increments (Counter, UpDownCounter).</summary>
    Sum,

    /// <summary>Each measurement replaces the value (gauges, and observable instruments, which report totals).</summary>
    LastValue,

    /// <summary>Each measurement lands in one bucket and in the sum.</summary>
    Histogram,
}
