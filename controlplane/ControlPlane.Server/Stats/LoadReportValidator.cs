using System.Text.RegularExpressions;
using ControlPlane.Api.V1;
using ControlPlane.Api.Validation;
using ControlPlane.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Stats;

/// <summary>
/// Checks a load report as a whole before anything of it is counted (load_report.proto): a bad one
/// is refused with the offending fields named (google.rpc.BadRequest, at most
/// <see cref="MaxViolations"/> of them) and changes nothing. Turns a good one into a <see cref="LoadBatch"/>.
/// </summary>
internal static partial class LoadReportValidator
{
    public const string Reason = "invalid_request";

    /// <summary>Requests one report may count for one image or instance: far above any real interval, far below overflow.</summary>
    public const long MaxRequests = 1_000_000_000_000;

    /// <summary>Bytes one report may count for one image or instance (1 PiB).</summary>
    public const long MaxBytes = 1L << 50;

    public const int MaxHistogramBounds = 64;

    public const int MaxViolations = 20;

    /// <summary>The image name the dataplane counts requests under when they named no image it knows.</summary>
    public const string UnknownImage = "_unknown";

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,64}\\z")]
    private static partial Regex EpochPattern();

    // The registry's instance ids.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\\z")]
    private static partial Regex InstanceIdPattern();

    public static LoadBatch Validate(ReportLoadRequest report, StatsOptions options)
    {
        var errors = new Violations();
        if (!EpochPattern().IsMatch(report.Epoch))
        {
            errors.Add("epoch", report.Epoch.Length == 0 ? "is required" : "must be 1-64 characters from [A-Za-z0-9._:-]");
        }
        if (report.Sequence == 0)
        {
            errors.Add("sequence", "is required (sequences start at 1)");
        }
        CheckInterval(errors, report.IntervalStart, report.IntervalEnd);
        if (report.Images.Count > options.MaxImagesPerReport)
        {
            errors.Add("images", $"holds {report.Images.Count} images; at most {options.MaxImagesPerReport}");
            errors.Throw();
        }
        var instanceEntries = report.Images.Sum(i => (long)i.Instances.Count);
        if (instanceEntries > options.MaxInstancesPerReport)
        {
            errors.Add("images", $"holds {instanceEntries} instance entries; at most {options.MaxInstancesPerReport}");
            errors.Throw();
        }
        var images = new List<ImageLoadCounts>(report.Images.Count);
        var seenImages = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < report.Images.Count && !errors.Full; i++)
        {
            images.Add(Image(errors, report.Images[i], $"images[{i}]", seenImages));
        }
        errors.Throw();
        return new LoadBatch(images);
    }

    private static ImageLoadCounts Image(Violations errors, ImageLoad image, string path, HashSet<string> seen)
    {
        if (image.Image != UnknownImage && !ImageName.IsValid(image.Image))
        {
            errors.Add(path + ".image", image.Image.Length == 0 ? "is required" : "must be an image name (letters, digits and . _ : -, starting and ending with a letter or digit, up to 253 characters) or \"_unknown\"");
        }
        else if (!seen.Add(image.Image))
        {
            errors.Add(path + ".image", $"'{image.Image}' appears more than once in the report");
        }
        var counts = Counts(errors, path, image.ReqCount, image.BytesTx, image.Errors4Xx, image.Errors5Xx, image.Latency);
        var instances = new List<InstanceLoadCounts>(image.Instances.Count);
        var seenInstances = new HashSet<string>(StringComparer.Ordinal);
        long forwarded = 0;
        for (var j = 0; j < image.Instances.Count && !errors.Full; j++)
        {
            var instance = image.Instances[j];
            var where = $"{path}.instances[{j}]";
            if (!InstanceIdPattern().IsMatch(instance.InstanceId))
            {
                errors.Add(where + ".instance_id", instance.InstanceId.Length == 0 ? "is required" : "must be an instance id (letters, digits, '.', '_', ':' or '-', starting with a letter or digit, up to 128 characters)");
            }
            else if (!seenInstances.Add(instance.InstanceId))
            {
                errors.Add(where + ".instance_id", $"'{instance.InstanceId}' appears more than once for this image");
            }
            var instanceCounts = Counts(errors, where, instance.ReqCount, instance.BytesTx, instance.Errors4Xx, instance.Errors5Xx, instance.Latency);
            forwarded += Math.Max(0, instance.ReqCount);
            instances.Add(new InstanceLoadCounts(instance.InstanceId, instanceCounts));
        }
        if (forwarded > image.ReqCount)
        {
            errors.Add(path + ".instances", $"count {forwarded} forwarded requests, more than the image's req_count {image.ReqCount}");
        }
        return new ImageLoadCounts(image.Image, counts, instances);
    }

    private static LoadCounts Counts(Violations errors, string path, long requests, long bytes, long errors4xx, long errors5xx, LatencyHistogram? latency)
    {
        Range(errors, path + ".req_count", requests, MaxRequests);
        Range(errors, path + ".bytes_tx", bytes, MaxBytes);
        Range(errors, path + ".errors_4xx", errors4xx, MaxRequests);
        Range(errors, path + ".errors_5xx", errors5xx, MaxRequests);
        if (errors4xx >= 0 && errors5xx >= 0 && errors4xx + errors5xx > requests)
        {
            errors.Add(path, $"errors_4xx + errors_5xx ({errors4xx} + {errors5xx}) exceed req_count {requests}");
        }
        var counts = new LoadCounts { Requests = requests, BytesTx = bytes, Errors4xx = errors4xx, Errors5xx = errors5xx };
        if (latency is not null)
        {
            Histogram(errors, path + ".latency", latency, requests, counts.Latency);
        }
        return counts;
    }

    private static void Histogram(Violations errors, string path, LatencyHistogram histogram, long requests, long[] into)
    {
        var bounds = histogram.BoundsSeconds;
        if (bounds.Count is 0 or > MaxHistogramBounds)
        {
            errors.Add(path + ".bounds_seconds", $"holds {bounds.Count} bounds; 1 to {MaxHistogramBounds}");
            return;
        }
        for (var i = 0; i < bounds.Count; i++)
        {
            if (!double.IsFinite(bounds[i]) || bounds[i] <= 0 || (i > 0 && bounds[i] <= bounds[i - 1]))
            {
                errors.Add(path + ".bounds_seconds", "must be positive, finite and strictly increasing");
                return;
            }
        }
        if (histogram.BucketCounts.Count != bounds.Count + 1)
        {
            errors.Add(path + ".bucket_counts", $"holds {histogram.BucketCounts.Count} entries; bounds_seconds has {bounds.Count}, so {bounds.Count + 1}");
            return;
        }
        long total = 0;
        foreach (var c in histogram.BucketCounts)
        {
            if (c < 0 || c > MaxRequests)
            {
                errors.Add(path + ".bucket_counts", $"entries must be 0 to {MaxRequests}");
                return;
            }
            total += c;
        }
        if (total != histogram.Count || total != requests)
        {
            errors.Add(path + ".count", $"bucket_counts sum to {total} and count is {histogram.Count}; both must equal req_count {requests}");
            return;
        }
        if (!double.IsFinite(histogram.SumSeconds) || histogram.SumSeconds < 0)
        {
            errors.Add(path + ".sum_seconds", "must be finite and not negative");
            return;
        }
        for (var i = 0; i < histogram.BucketCounts.Count; i++)
        {
            var target = i < bounds.Count ? LatencyBuckets.AtMost(bounds[i]) : LatencyBuckets.Above(bounds[^1]);
            into[target] += histogram.BucketCounts[i];
        }
    }

    private static void CheckInterval(Violations errors, Timestamp? start, Timestamp? end)
    {
        if (start is null || end is null)
        {
            errors.Add(start is null ? "interval_start" : "interval_end", "is required");
            return;
        }
        if (!IsValid(start) || !IsValid(end))
        {
            errors.Add(IsValid(start) ? "interval_end" : "interval_start", "is not a valid timestamp");
            return;
        }
        if (end.ToDateTimeOffset() <= start.ToDateTimeOffset())
        {
            errors.Add("interval_end", "must be later than interval_start");
        }
    }

    // Timestamp's range: 0001-01-01 to 9999-12-31, nanos 0-999,999,999 (timestamp.proto).
    private static bool IsValid(Timestamp t) => t.Seconds is >= -62_135_596_800 and <= 253_402_300_799 && t.Nanos is >= 0 and <= 999_999_999;

    private static void Range(Violations errors, string field, long value, long max)
    {
        if (value < 0 || value > max)
        {
            errors.Add(field, $"must be 0 to {max} (got {value})");
        }
    }

    /// <summary>Field violations, capped so a hostile report cannot make the error itself huge.</summary>
    private sealed class Violations
    {
        private readonly List<FieldViolation> _list = [];
        private bool _stopped;

        /// <summary>A violation was found past a full list: checking can stop.</summary>
        public bool Full => _stopped;

        public void Add(string field, string description)
        {
            if (_list.Count >= MaxViolations)
            {
                _stopped = true;
                return;
            }
            _list.Add(new FieldViolation(field, description));
        }

        public void Throw()
        {
            if (_list.Count > 0)
            {
                // A violation found past a full list: the message says the report holds more than it lists.
                throw RpcErrors.InvalidArgument(Reason, _list, checkingStopped: _stopped);
            }
        }
    }
}
