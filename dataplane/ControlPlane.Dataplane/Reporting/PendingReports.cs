using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// The node's side of load_report.proto's exactly-once rules: the epoch, the sequence, and every
/// report not yet acknowledged, in order, persisted after each change (when a store is given) so a
/// restarted node resends them under the same epoch. Sent one at a time, oldest first
/// (<see cref="TakeOldest"/>), so an answer always concerns the report in flight.
/// </summary>
internal sealed class PendingReports
{
    private readonly Lock _lock = new();
    private readonly List<Entry> _reports = [];
    private readonly ReportStateStore? _store;
    private readonly int _maxPending;
    private readonly int _maxReportBytes;
    private int _maxEntries;
    private readonly Action<Exception> _persistFailed;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>
    /// Largest report, serialized: an interval with more is split into several reports (each its own
    /// sequence, the same interval), so none comes near gRPC's 4 MiB default message limit, where a
    /// control plane would refuse it on every resend.
    /// </summary>
    public const int DefaultMaxReportBytes = 1024 * 1024;

    public PendingReports(string epoch, ulong lastSequence, IEnumerable<ReportLoadRequest> pending, int maxPending, ReportStateStore? store, Action<Exception> persistFailed, int maxReportBytes = DefaultMaxReportBytes, int maxEntries = ReportPacker.MaxEntries)
    {
        _maxEntries = maxEntries;
        Epoch = epoch;
        LastSequence = lastSequence;
        _maxPending = maxPending;
        _maxReportBytes = maxReportBytes;
        _store = store;
        _persistFailed = persistFailed;
        // Reports read back from disk may have reached a control plane before the restart: never merge into them.
        _reports.AddRange(pending.Select(p => new Entry(p) { Sent = true }));
    }

    /// <summary>Entries (images and instance entries) a new report holds at most; lowered when a control plane refuses a report for its size.</summary>
    public int MaxEntries
    {
        get
        {
            lock (_lock)
            {
                return _maxEntries;
            }
        }
    }

    /// <summary>The current sequence space.</summary>
    public string Epoch { get; private set; }

    /// <summary>The last sequence assigned in <see cref="Epoch"/> (0: none).</summary>
    public ulong LastSequence { get; private set; }

    /// <summary>The highest sequence the control plane acknowledged in <see cref="Epoch"/> since this process started (0: none).</summary>
    public ulong LastAcknowledged { get; private set; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _reports.Count;
            }
        }
    }

    /// <summary>Completes at the next change (a report added, acknowledged or renumbered); take it before looking.</summary>
    public Task Changed
    {
        get
        {
            lock (_lock)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>
    /// Adds an interval's counts as the next report, or several when they exceed a report's limits
    /// (<see cref="ReportPacker"/>: each its own sequence, the same interval). An interval without
    /// traffic takes no sequence. With <see cref="ReportingOptions.MaxPendingReports"/> reached, the
    /// counts are merged instead with the unsent reports beyond the cap, which are packed again (under
    /// the same limits, one wider interval): counts stay exact, and the reports kept beyond the cap are
    /// bounded by the distinct images and instances served, not by the length of the outage.
    /// </summary>
    public void Add(List<ImageLoad> images, DateTimeOffset start, DateTimeOffset end)
    {
        if (images.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            var tail = Math.Max(_maxPending - 1, 0);
            while (tail < _reports.Count && _reports[tail].Sent)
            {
                tail++;
            }
            if (_reports.Count >= _maxPending && tail < _reports.Count)
            {
                // Never sent, so no control plane knows these sequences: they are assigned again.
                var merged = _reports.Skip(tail).ToList();
                _reports.RemoveRange(tail, merged.Count);
                LastSequence = merged[0].Report.Sequence - 1;
                images = ReportMerge.Combine(merged.SelectMany(r => r.Report.Images).Concat(images));
                start = merged[0].Report.IntervalStart.ToDateTimeOffset();
            }
            var (from, to) = (Timestamp.FromDateTimeOffset(start), Timestamp.FromDateTimeOffset(end));
            foreach (var packed in ReportPacker.Pack(images, _maxEntries, _maxReportBytes))
            {
                var report = NewReport(from, to, packed);
                report.Sequence = ++LastSequence;
                _reports.Add(new Entry(report));
            }
            ChangedLocked();
        }
    }

    /// <summary>The oldest unacknowledged report, marked as sent (nothing is merged into it any more); null when none.</summary>
    public ReportLoadRequest? TakeOldest()
    {
        lock (_lock)
        {
            if (_reports.Count == 0)
            {
                return null;
            }
            _reports[0].Sent = true;
            return _reports[0].Report;
        }
    }

    /// <summary>
    /// Applies an answer to the report <paramref name="inFlight"/>: forgets every report up to
    /// <paramref name="acked"/>. When the control plane answers below the report before the one in
    /// flight, it no longer knows this epoch's reports up to there, which the node has forgotten
    /// (they were acknowledged): the gap cannot be filled, so the kept reports move to a new epoch,
    /// numbered from 1 (load_report.proto).
    /// </summary>
    public AckOutcome Acknowledge(string epoch, ulong acked, ulong inFlight)
    {
        lock (_lock)
        {
            if (epoch != Epoch)
            {
                return AckOutcome.Ignored; // about an epoch the node has left
            }
            if (acked >= inFlight)
            {
                // Beyond what this process assigned (a state file restored from an older copy): the
                // control plane counted those sequences already, so new reports must come after them.
                LastSequence = Math.Max(LastSequence, acked);
                LastAcknowledged = Math.Max(LastAcknowledged, acked);
                _reports.RemoveAll(r => r.Report.Sequence <= acked);
                ChangedLocked();
                return AckOutcome.Progress;
            }
            if (acked + 1 == inFlight)
            {
                return AckOutcome.Wait; // an answer sent before the report arrived (e.g. an interval change)
            }
            Epoch = NewEpoch();
            LastAcknowledged = 0;
            Number(0, 1);
            ChangedLocked();
            return AckOutcome.Renumbered;
        }
    }

    /// <summary>
    /// Applies a control plane's refusal (INVALID_ARGUMENT) of the report in flight,
    /// <paramref name="inFlight"/>. Nothing of it was counted, nor of any later report (a control
    /// plane accepts only the sequence after the last it accepted), so the kept reports may change
    /// from it on and be numbered again from it. What changes depends on the fields the refusal names
    /// (google.rpc.BadRequest):
    /// <list type="bullet">
    /// <item><c>images</c> (a report's size: a control plane whose limits are below what the node
    /// packs for, or a report kept from an earlier version): the report is split in two, and every
    /// kept report and later interval is packed no larger than the halves.</item>
    /// <item><c>images[i]...</c>: those image entries are set aside and the rest of the report is sent again.</item>
    /// <item><c>epoch</c>: the kept reports move to a new epoch, from 1.</item>
    /// <item>another field of the report (its sequence or interval): the report is set aside whole.</item>
    /// <item><c>node...</c>, or no field: the refusal is not about the report, which stays as it is.</item>
    /// </list>
    /// A refused report is never resent unchanged, so one bad report cannot hold back the ones after
    /// it forever. What is set aside is never counted: <paramref name="keep"/> gets it first (to keep it
    /// for a human) and, when that throws, nothing changes and the exception propagates.
    /// </summary>
    public RefusalRepair Refused(ulong inFlight, IReadOnlyList<FieldViolation> violations, Action<ReportLoadRequest> keep)
    {
        lock (_lock)
        {
            if (_reports.Count == 0 || _reports[0].Report.Sequence != inFlight || violations.Count == 0
                || violations.Any(v => v.Field == "node" || v.Field.StartsWith("node.", StringComparison.Ordinal)))
            {
                return RefusalRepair.None;
            }
            var refused = _reports[0].Report;
            if (violations.Any(v => v.Field == "epoch"))
            {
                Epoch = NewEpoch();
                LastAcknowledged = 0;
                Number(0, 1);
                ChangedLocked();
                return new RefusalRepair(RefusalAction.NewEpoch, null, 0);
            }
            RefusalRepair repair;
            var badImages = new SortedSet<int>();
            var reportLevel = false;
            var size = false;
            foreach (var violation in violations)
            {
                if (violation.Field == "images")
                {
                    size = true;
                }
                else if (ImageIndex(violation.Field) is { } i && i < refused.Images.Count)
                {
                    badImages.Add(i);
                }
                else
                {
                    reportLevel = true;
                }
            }
            var entries = ReportPacker.Entries(refused.Images);
            if (!reportLevel && badImages.Count == 0 && size && entries > 2)
            {
                // Every kept report as large is split too (none was counted): one refusal per limit learnt.
                _maxEntries = Math.Min(_maxEntries, (entries + 1) / 2);
                var parts = 0;
                for (var i = 0; i < _reports.Count; i++)
                {
                    var (report, sent) = (_reports[i].Report, _reports[i].Sent);
                    if (ReportPacker.Entries(report.Images) <= _maxEntries)
                    {
                        continue;
                    }
                    var split = ReportPacker.Pack(report.Images, _maxEntries, _maxReportBytes)
                        .Select(images => new Entry(NewReport(report.IntervalStart, report.IntervalEnd, images)) { Sent = sent })
                        .ToList();
                    parts += i == 0 ? split.Count : 0;
                    _reports.RemoveAt(i);
                    _reports.InsertRange(i, split);
                    i += split.Count - 1;
                }
                repair = new RefusalRepair(RefusalAction.Split, null, parts);
            }
            else if (!reportLevel && !size && badImages.Count > 0)
            {
                var aside = refused.Clone();
                aside.Images.Clear();
                aside.Images.AddRange(badImages.Select(i => refused.Images[i].Clone()));
                keep(aside);
                foreach (var i in badImages.Reverse())
                {
                    refused.Images.RemoveAt(i);
                }
                repair = new RefusalRepair(RefusalAction.ImagesSetAside, aside, 1);
            }
            else
            {
                keep(refused);
                _reports.RemoveAt(0);
                repair = new RefusalRepair(RefusalAction.ReportSetAside, refused, 0);
            }
            Number(0, inFlight);
            ChangedLocked();
            return repair;
        }
    }

    // A report of the current epoch over [start, end) holding images; its sequence is the caller's to set.
    private ReportLoadRequest NewReport(Timestamp start, Timestamp end, IEnumerable<ImageLoad> images)
    {
        var report = new ReportLoadRequest { Epoch = Epoch, IntervalStart = start, IntervalEnd = end };
        report.Images.AddRange(images);
        return report;
    }

    // "images[12].instances[3].req_count" -> 12.
    private static int? ImageIndex(string field)
    {
        const string Prefix = "images[";
        if (!field.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var end = field.IndexOf(']', Prefix.Length);
        return end > Prefix.Length && int.TryParse(field.AsSpan(Prefix.Length, end - Prefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) ? i : null;
    }

    // Numbers the reports from index `from` on, from `sequence`, under the current epoch; the last assigned follows them.
    private void Number(int from, ulong sequence)
    {
        for (var i = from; i < _reports.Count; i++)
        {
            _reports[i].Report.Epoch = Epoch;
            _reports[i].Report.Sequence = sequence++;
        }
        LastSequence = sequence - 1;
    }

    /// <summary>Saves the state now (at start, so a new epoch is on disk before its first report).</summary>
    public void Persist()
    {
        lock (_lock)
        {
            PersistLocked();
        }
    }

    public static string NewEpoch() => Guid.NewGuid().ToString("N");

    private void ChangedLocked()
    {
        PersistLocked();
        _changed.TrySetResult();
        _changed = NewSignal();
    }

    private void PersistLocked()
    {
        if (_store is null)
        {
            return;
        }
        try
        {
            _store.Save(Epoch, LastSequence, _reports.Select(r => r.Report));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _persistFailed(ex);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Entry(ReportLoadRequest report)
    {
        public ReportLoadRequest Report { get; } = report;

        /// <summary>Handed to a stream at least once: its content is final.</summary>
        public bool Sent { get; set; }
    }
}

/// <summary>What <see cref="PendingReports.Refused"/> did; <see cref="SetAside"/> is what was taken out, never to be counted.</summary>
internal readonly record struct RefusalRepair(RefusalAction Action, ReportLoadRequest? SetAside, int Parts)
{
    public static readonly RefusalRepair None = new(RefusalAction.None, null, 0);
}

internal enum RefusalAction
{
    /// <summary>The refusal was not about the report: it is sent again as it is.</summary>
    None,

    /// <summary>The report was split into <see cref="RefusalRepair.Parts"/> smaller ones.</summary>
    Split,

    /// <summary>The image entries the refusal named were set aside; the rest of the report is sent again.</summary>
    ImagesSetAside,

    /// <summary>The report was set aside whole; the next one takes its sequence.</summary>
    ReportSetAside,

    /// <summary>The epoch was refused: the kept reports moved to a new one.</summary>
    NewEpoch,
}

internal enum AckOutcome
{
    /// <summary>The report in flight is acknowledged: send the next.</summary>
    Progress,

    /// <summary>Not an answer to the report in flight yet: keep reading.</summary>
    Wait,

    /// <summary>The reports moved to a new epoch: send them again from 1.</summary>
    Renumbered,

    /// <summary>About another epoch: nothing changed.</summary>
    Ignored,
}
