namespace ControlPlane.Server.Stats;

/// <summary>The "ControlPlane:Stats" configuration section: load-report limits and how long counts are kept.</summary>
public sealed class StatsOptions
{
    public const string Section = "ControlPlane:Stats";

    /// <summary>
    /// Width of the time buckets counts are kept in; every window is a whole number of them, so
    /// adjacent windows never share a bucket (stats.proto, billing.proto).
    /// </summary>
    public static readonly TimeSpan BucketWidth = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long buckets are kept. Longer than the largest window (1 h), so that an hourly billing
    /// export run a few minutes after the hour still finds the whole hour. Default 2 h.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// How long the accepted sequence of an epoch is remembered after its last report. A node away
    /// longer than this and still holding reports of that epoch moves them to a new one
    /// (load_report.proto). Default 24 h.
    /// </summary>
    public TimeSpan EpochRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Epochs remembered per node (the least recently used are forgotten first). Default 16.</summary>
    public int MaxEpochsPerNode { get; set; } = 16;

    /// <summary>
    /// Most images in one report. Default 1,000. A report is counted in one atomic step (on Redis, one
    /// script that holds the server while it runs, about 30 µs per image or instance entry), so the
    /// limits bound how long any one report can hold the store; nodes split what an interval served
    /// into reports of at most 500 entries (load_report.proto).
    /// </summary>
    public int MaxImagesPerReport { get; set; } = 1_000;

    /// <summary>Most instance entries in one report, over all its images. Default 1,000.</summary>
    public int MaxInstancesPerReport { get; set; } = 1_000;

    /// <summary>
    /// When set, sent to nodes in the first answer of each report stream so that they report at this
    /// interval; unset (the default), nodes keep their own (<c>Dataplane:Reporting:Interval</c>).
    /// </summary>
    public TimeSpan? ReportInterval { get; set; }

    /// <summary>Throws when a setting cannot work (checked when the services are added).</summary>
    public void Validate()
    {
        List<string> errors = [];
        if (Retention < TimeSpan.FromHours(1) + BucketWidth)
        {
            errors.Add($"{nameof(Retention)} must be at least 1 h + {BucketWidth.TotalSeconds:0} s (the largest window and one bucket)");
        }
        if (EpochRetention <= TimeSpan.Zero || MaxEpochsPerNode < 1 || MaxImagesPerReport < 1 || MaxInstancesPerReport < 1)
        {
            errors.Add($"{nameof(EpochRetention)}, {nameof(MaxEpochsPerNode)}, {nameof(MaxImagesPerReport)} and {nameof(MaxInstancesPerReport)} must be positive");
        }
        if (ReportInterval is { } interval && (interval < TimeSpan.FromSeconds(1) || interval > TimeSpan.FromMinutes(5)))
        {
            errors.Add($"{nameof(ReportInterval)} must be between 1 s and 5 min");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid {Section} settings: " + string.Join("; ", errors));
        }
    }
}
