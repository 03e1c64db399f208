using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Stats;

/// <summary>
/// Answers the stats queries from the store: rates and latency percentiles over the buckets that
/// start in (now - window, now], so what was accepted up to this instant is always in view.
/// </summary>
internal sealed class StatsReader(ILoadStore store, TimeProvider time)
{
    /// <summary>Longest image name a filter may hold (the registry's limit).</summary>
    public const int MaxImageLength = 255;

    public async Task<GetImageStatsResponse> GetImageStatsAsync(GetImageStatsRequest request, CancellationToken cancellationToken)
    {
        var (window, end, totals) = await SumAsync(LoadScope.Images, request.Window, request.Image, cancellationToken);
        var response = new GetImageStatsResponse { Window = window.Name, WindowEnd = Timestamp.FromDateTimeOffset(end) };
        foreach (var total in totals)
        {
            var c = total.Counts;
            response.Images.Add(new ImageStats
            {
                Image = total.Image,
                RpsAvg = window.RatePerSecond(c.Requests),
                BytesTx = c.BytesTx,
                ReqCount = c.Requests,
                Errors4Xx = c.Errors4xx,
                Errors5Xx = c.Errors5xx,
                LatencyP50Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.50),
                LatencyP95Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.95),
                LatencyP99Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.99),
            });
        }
        return response;
    }

    public async Task<GetInstanceStatsResponse> GetInstanceStatsAsync(GetInstanceStatsRequest request, CancellationToken cancellationToken)
    {
        var (window, end, totals) = await SumAsync(LoadScope.Instances, request.Window, request.Image, cancellationToken);
        var response = new GetInstanceStatsResponse { Window = window.Name, WindowEnd = Timestamp.FromDateTimeOffset(end) };
        foreach (var total in totals)
        {
            var c = total.Counts;
            response.Instances.Add(new InstanceStats
            {
                Image = total.Image,
                InstanceId = total.InstanceId,
                RpsAvg = window.RatePerSecond(c.Requests),
                BytesTx = c.BytesTx,
                ReqCount = c.Requests,
                Errors4Xx = c.Errors4xx,
                Errors5Xx = c.Errors5xx,
                LatencyP50Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.50),
                LatencyP95Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.95),
                LatencyP99Ms = LatencyBuckets.QuantileMilliseconds(c.Latency, 0.99),
            });
        }
        return response;
    }

    /// <summary>The totals of <paramref name="scope"/> over the window that ends now.</summary>
    private async Task<(StatsWindow Window, DateTimeOffset End, IReadOnlyList<LoadTotal> Totals)> SumAsync(
        LoadScope scope, string windowName, string image, CancellationToken cancellationToken)
    {
        var window = StatsWindow.Parse(windowName, StatsWindow.OneMinute);
        CheckImageFilter(image);
        var end = time.GetUtcNow();
        var totals = await store.SumAsync(scope, After(end - window.Length), After(end), NullIfEmpty(image), cancellationToken);
        return (window, end, totals);
    }

    /// <summary>An image filter that names no image returns nothing; one no image could have is an error.</summary>
    public static void CheckImageFilter(string image)
    {
        if (image.Length > MaxImageLength)
        {
            throw RpcErrors.InvalidArgument(LoadReportValidator.Reason, [new("image", $"is {image.Length} characters long; image names have at most {MaxImageLength}")]);
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    // The store sums [start, end); one tick later on both sides makes it (start, end].
    private static DateTimeOffset After(DateTimeOffset t) => t.AddTicks(1);
}
