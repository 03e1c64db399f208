using ControlPlane.Api.V1;
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
    private readonly int _maxEntries;
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
            foreach (var packed in ReportPacker.Pack(images, _maxEntries, _maxReportBytes))
            {
                var report = new ReportLoadRequest
                {
                    Epoch = Epoch,
                    Sequence = ++LastSequence,
                    IntervalStart = Timestamp.FromDateTimeOffset(start),
                    IntervalEnd = Timestamp.FromDateTimeOffset(end),
                };
                report.Images.AddRange(packed);
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
            LastSequence = 0;
            LastAcknowledged = 0;
            foreach (var entry in _reports)
            {
                entry.Report.Epoch = Epoch;
                entry.Report.Sequence = ++LastSequence;
            }
            ChangedLocked();
            return AckOutcome.Renumbered;
        }
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
