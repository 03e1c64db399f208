namespace ControlPlane.Server.Stats;

/// <summary>
/// Where load counts and the exactly-once bookkeeping of load reports live. The embedded
/// in-memory store is the default; the Redis store (scale-out) implements the same contract, with
/// the acceptance check and the counting as one script, and the reference's
/// <c>lb:cnt:{window}:{metric}:{key}</c> layout for the buckets (window = the bucket's start in
/// Unix seconds at 10 s resolution, metric = req/bytes/4xx/5xx/lat{i}, key = image or
/// image/instance), each with a TTL of the retention.
/// <para>
/// A report counts once: <see cref="ApplyAsync"/> checks its sequence against the last one
/// accepted in its (node, epoch) and adds its counts in the same atomic step, so concurrent
/// streams of one node (a reconnect racing the old stream) and replicas sharing the store never
/// count it twice.
/// </para>
/// </summary>
public interface ILoadStore
{
    /// <summary>
    /// Accepts the report when <paramref name="sequence"/> is the epoch's last accepted sequence
    /// plus one (a new epoch starts at 1), adding <paramref name="batch"/> to the bucket of
    /// <paramref name="receivedAt"/>; a sequence at or below it is a duplicate, one beyond it a gap,
    /// and neither changes anything. Always answers the epoch's last accepted sequence.
    /// </summary>
    ValueTask<ReportResult> ApplyAsync(ReportKey key, ulong sequence, LoadBatch batch, DateTimeOffset receivedAt, CancellationToken cancellationToken = default);

    /// <summary>The epoch's last accepted sequence (0: none, or an epoch forgotten), changing nothing.</summary>
    ValueTask<ulong> LastAcceptedAsync(ReportKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Totals of the buckets that start in [<paramref name="start"/>, <paramref name="end"/>), per
    /// image or per instance, only <paramref name="image"/>'s when given; ordered by image, then
    /// instance id (ordinal). Keys without traffic are left out.
    /// </summary>
    ValueTask<IReadOnlyList<LoadTotal>> SumAsync(LoadScope scope, DateTimeOffset start, DateTimeOffset end, string? image, CancellationToken cancellationToken = default);
}

/// <summary>The sequence space a report belongs to.</summary>
public readonly record struct ReportKey(string NodeId, string Epoch);

public enum ReportDisposition
{
    /// <summary>Counted now.</summary>
    Accepted,

    /// <summary>Counted before (a resend): acknowledged, not counted again.</summary>
    Duplicate,

    /// <summary>Reports are missing before it: not counted; the node resends from the answered sequence.</summary>
    Gap,
}

/// <param name="Disposition">What became of the report.</param>
/// <param name="LastAccepted">The epoch's last accepted sequence after it (0: none).</param>
public readonly record struct ReportResult(ReportDisposition Disposition, ulong LastAccepted);

public enum LoadScope
{
    Images,
    Instances,
}

/// <param name="Image">The image.</param>
/// <param name="InstanceId">The instance; empty for image totals.</param>
/// <param name="Counts">The totals (the caller's own copy).</param>
public readonly record struct LoadTotal(string Image, string InstanceId, LoadCounts Counts);
