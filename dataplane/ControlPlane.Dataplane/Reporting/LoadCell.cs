using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Counts of one image or instance in one interval, updated by many request threads at once with
/// interlocked adds only (no lock), read once the interval is closed.
/// </summary>
internal sealed class LoadCell
{
    private readonly long[] _latency = new long[LatencyBounds.Buckets];
    private long _requests;
    private long _bytes;
    private long _errors4xx;
    private long _errors5xx;
    private long _latencyTicks;

    public void Add(int status, long bytes, TimeSpan latency)
    {
        Interlocked.Increment(ref _requests);
        if (bytes > 0)
        {
            Interlocked.Add(ref _bytes, bytes);
        }
        if (status is >= 400 and <= 499)
        {
            Interlocked.Increment(ref _errors4xx);
        }
        else if (status is >= 500 and <= 599)
        {
            Interlocked.Increment(ref _errors5xx);
        }
        Interlocked.Increment(ref _latency[LatencyBounds.IndexOf(latency)]);
        Interlocked.Add(ref _latencyTicks, Math.Max(0, latency.Ticks));
    }

    /// <summary>The counts as a report carries them; call after the interval closed (no writer left).</summary>
    public ImageLoad ToImageLoad(string image) => new()
    {
        Image = image,
        ReqCount = _requests,
        BytesTx = _bytes,
        Errors4Xx = _errors4xx,
        Errors5Xx = _errors5xx,
        Latency = Histogram(),
    };

    public InstanceLoad ToInstanceLoad(string instanceId) => new()
    {
        InstanceId = instanceId,
        ReqCount = _requests,
        BytesTx = _bytes,
        Errors4Xx = _errors4xx,
        Errors5Xx = _errors5xx,
        Latency = Histogram(),
    };

    private LatencyHistogram Histogram()
    {
        var histogram = new LatencyHistogram { Count = _requests, SumSeconds = (double)_latencyTicks / TimeSpan.TicksPerSecond };
        histogram.BoundsSeconds.AddRange(LatencyBounds.Seconds);
        histogram.BucketCounts.AddRange(_latency);
        return histogram;
    }
}
