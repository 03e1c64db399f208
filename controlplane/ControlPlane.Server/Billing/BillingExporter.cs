using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Stats;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Billing;

/// <summary>
/// Builds billing exports: usage per image over a window, from the same store and buckets as the
/// stats, so a window's export and its stats agree to the request. Reads only; changes nothing.
/// </summary>
internal sealed class BillingExporter(ILoadStore store, StatsOptions options, TimeProvider time)
{
    public const string WindowUnavailable = "window_unavailable";

    public async Task<ExportBillingResponse> ExportAsync(ExportBillingRequest request, CancellationToken cancellationToken)
    {
        var window = StatsWindow.Parse(request.Window, StatsWindow.OneHour);
        // Exports are documents kept for years: whole seconds, as in the reference's example.
        var now = TruncateToSecond(time.GetUtcNow());
        // The end falls back to a bucket's edge: counts are kept in buckets of StatsOptions.BucketWidth,
        // and a window ending inside one would take the whole bucket, still filling, and the next
        // window none of it; so exporting a window twice would bill more the second time, and the
        // requests counted in between no window at all. Aligned, adjacent windows share nothing and
        // miss nothing, and a window is the same whenever it is exported.
        var end = AlignDown(request.EndTime is null ? now : EndTime(request.EndTime, now));
        if (end.UtcTicks < window.Length.Ticks)
        {
            throw RpcErrors.Exception(StatusCode.OutOfRange, WindowUnavailable, $"a window ending {Format(end)} starts before the first counts");
        }
        var start = end - window.Length;
        if (start < time.GetUtcNow() - options.Retention)
        {
            throw RpcErrors.Exception(StatusCode.OutOfRange, WindowUnavailable,
                $"the window {Format(start)} to {Format(end)} starts before the oldest counts this control plane keeps ({options.Retention.TotalMinutes:0} min)");
        }
        var totals = await store.SumAsync(LoadScope.Images, start, end, image: null, cancellationToken);
        var export = new ExportBillingResponse
        {
            GeneratedAt = Timestamp.FromDateTimeOffset(now),
            Window = window.Name,
            SchemaVersion = BillingDocument.SchemaVersion,
            WindowStart = Timestamp.FromDateTimeOffset(start),
            WindowEnd = Timestamp.FromDateTimeOffset(end),
        };
        foreach (var total in totals)
        {
            var c = total.Counts;
            export.Images.Add(new BillingImageUsage
            {
                Image = total.Image,
                RpsAvg = window.RatePerSecond(c.Requests),
                BytesTx = c.BytesTx,
                ReqCount = c.Requests,
                Errors4Xx = c.Errors4xx,
                Errors5Xx = c.Errors5xx,
            });
        }
        export.Checksum = BillingDocument.Checksum(export);
        return export;
    }

    private static DateTimeOffset EndTime(Timestamp endTime, DateTimeOffset now)
    {
        if (endTime.Seconds is < -62_135_596_800 or > 253_402_300_799 || endTime.Nanos is < 0 or > 999_999_999)
        {
            throw RpcErrors.InvalidArgument(LoadReportValidator.Reason, [new("end_time", "is not a valid timestamp")]);
        }
        var end = endTime.ToDateTimeOffset();
        if (end > now)
        {
            throw RpcErrors.Exception(StatusCode.OutOfRange, WindowUnavailable,
                $"end_time {Format(end)} is in the future: a window is exported once it has ended (now {Format(now)})");
        }
        return end;
    }

    private static DateTimeOffset AlignDown(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % StatsOptions.BucketWidth.Ticks, TimeSpan.Zero);

    private static DateTimeOffset TruncateToSecond(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static string Format(DateTimeOffset t) => BillingDocument.Format(Timestamp.FromDateTimeOffset(t));
}
