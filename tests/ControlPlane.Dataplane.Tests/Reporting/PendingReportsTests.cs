using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Reporting;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>The node's bookkeeping of load_report.proto: sequences, acknowledgements, renumbering, the cap, the state file.</summary>
public sealed class PendingReportsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-reports-").FullName;
    private readonly List<Exception> _persistFailures = [];

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Intervals_BecomeConsecutiveReports_AndQuietOnesTakeNoSequence()
    {
        var pending = New();
        pending.Add(Loads(("img.a", 3)), T0, T0.AddSeconds(10));
        pending.Add([], T0.AddSeconds(10), T0.AddSeconds(20));
        pending.Add(Loads(("img.a", 4)), T0.AddSeconds(20), T0.AddSeconds(30));

        Assert.Equal(2ul, pending.LastSequence);
        var first = pending.TakeOldest()!;
        Assert.Equal((pending.Epoch, 1ul, 3L), (first.Epoch, first.Sequence, first.Images.Single().ReqCount));
        Assert.Equal(T0, first.IntervalStart.ToDateTimeOffset());
        Assert.Equal(T0.AddSeconds(10), first.IntervalEnd.ToDateTimeOffset());
    }

    [Fact]
    public void Acknowledgements_ForgetReportsUpToTheAnsweredSequence()
    {
        var pending = New();
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.a", 2)), T0, T0.AddSeconds(10));

        Assert.Equal(AckOutcome.Ignored, pending.Acknowledge("another-epoch", 5, 1));
        Assert.Equal(AckOutcome.Wait, pending.Acknowledge(pending.Epoch, 0, 1)); // not the answer to report 1 yet
        Assert.Equal(2, pending.Count);
        Assert.Equal(AckOutcome.Progress, pending.Acknowledge(pending.Epoch, 1, 1));
        Assert.Equal((1, 1ul, 2ul), (pending.Count, pending.LastAcknowledged, pending.TakeOldest()!.Sequence));
    }

    [Fact]
    public void AControlPlaneThatForgotTheEpoch_MovesTheKeptReportsToANewEpochFromOne()
    {
        var pending = New();
        for (var i = 1; i <= 5; i++)
        {
            pending.Add(Loads(("img.a", i)), T0, T0.AddSeconds(10));
        }
        pending.Acknowledge(pending.Epoch, 3, 3); // 1-3 acknowledged and forgotten
        var old = pending.Epoch;

        // Another replica (or a control plane that lost its state) knows nothing before report 4.
        Assert.Equal(AckOutcome.Renumbered, pending.Acknowledge(old, 0, 4));

        Assert.NotEqual(old, pending.Epoch);
        Assert.Equal(2ul, pending.LastSequence);
        var first = pending.TakeOldest()!;
        Assert.Equal((pending.Epoch, 1ul, 4L), (first.Epoch, first.Sequence, first.Images.Single().ReqCount));
    }

    [Fact]
    public void AnAnswerBeyondWhatWasAssigned_MovesTheSequencePastIt()
    {
        // A state file restored from an older copy: the control plane already counted up to 7.
        var pending = new PendingReports("e1", 2, [], 360, null, _persistFailures.Add);
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));

        Assert.Equal(AckOutcome.Progress, pending.Acknowledge("e1", 7, 3));

        pending.Add(Loads(("img.a", 2)), T0.AddSeconds(10), T0.AddSeconds(20));
        Assert.Equal(8ul, pending.TakeOldest()!.Sequence); // not a "duplicate" the control plane would drop
    }

    [Fact]
    public void AtTheCap_NewIntervalsMergeIntoTheNewestUnsentReport_KeepingEverySum()
    {
        var pending = New(maxPending: 2);
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.TakeOldest(); // report 1 was sent: its content is final
        pending.Add(Loads(("img.a", 2)), T0.AddSeconds(10), T0.AddSeconds(20));
        pending.Add(Loads(("img.a", 3), ("img.b", 5)), T0.AddSeconds(20), T0.AddSeconds(30));
        pending.Add(Loads(("img.b", 1)), T0.AddSeconds(30), T0.AddSeconds(40));

        Assert.Equal((2, 2ul), (pending.Count, pending.LastSequence));
        pending.Acknowledge(pending.Epoch, 1, 1);
        var merged = pending.TakeOldest()!;
        Assert.Equal([("img.a", 5L), ("img.b", 6L)], merged.Images.Select(i => (i.Image, i.ReqCount)));
        Assert.Equal(T0.AddSeconds(10), merged.IntervalStart.ToDateTimeOffset());
        Assert.Equal(T0.AddSeconds(40), merged.IntervalEnd.ToDateTimeOffset());
        var a = merged.Images[0];
        Assert.Equal(a.ReqCount, a.Latency.Count);
        Assert.Equal(a.ReqCount, a.Latency.BucketCounts.Sum());
        Assert.Equal(a.ReqCount, a.Instances.Single().ReqCount);
    }

    [Fact]
    public void ABigInterval_IsSplitByImage_IntoReportsUnderTheSizeLimit_KeepingEverySum()
    {
        var images = Loads(Enumerable.Range(0, 40).Select(i => ($"img.{i:D2}", i + 1)).ToArray());
        var limit = images.Take(10).Sum(i => i.CalculateSize()); // about four reports' worth
        var pending = new PendingReports(PendingReports.NewEpoch(), 0, [], 360, null, _persistFailures.Add, maxReportBytes: limit);

        pending.Add(images, T0, T0.AddSeconds(10));

        var reports = new List<ReportLoadRequest>();
        while (pending.TakeOldest() is { } report)
        {
            reports.Add(report);
            pending.Acknowledge(pending.Epoch, report.Sequence, report.Sequence);
        }
        Assert.InRange(reports.Count, 4, 5);
        Assert.Equal(Enumerable.Range(1, reports.Count).Select(i => (ulong)i), reports.Select(r => r.Sequence));
        Assert.All(reports, r => Assert.True(r.Images.Sum(i => i.CalculateSize()) <= limit, $"report {r.Sequence} is over the limit"));
        Assert.All(reports, r => Assert.Equal((T0, T0.AddSeconds(10)), (r.IntervalStart.ToDateTimeOffset(), r.IntervalEnd.ToDateTimeOffset())));
        // Every image once, whole, with its counts.
        Assert.Equal(images.Select(i => (i.Image, i.ReqCount)), reports.SelectMany(r => r.Images).Select(i => (i.Image, i.ReqCount)));
    }

    [Fact]
    public void AnImageBiggerThanTheLimit_IsStillReported_InAReportOfItsOwn()
    {
        var images = Loads(("img.small", 1), ("img.big", 50), ("img.after", 2));
        var pending = new PendingReports(PendingReports.NewEpoch(), 0, [], 360, null, _persistFailures.Add, maxReportBytes: 1);

        pending.Add(images, T0, T0.AddSeconds(10));

        Assert.Equal(3, pending.Count);
        var reported = new List<string>();
        while (pending.TakeOldest() is { } report)
        {
            reported.Add(report.Images.Single().Image);
            pending.Acknowledge(pending.Epoch, report.Sequence, report.Sequence);
        }
        Assert.Equal(images.Select(i => i.Image), reported);
    }

    [Fact]
    public void TheStateFile_KeepsEpochSequenceAndUnacknowledgedReports()
    {
        var store = new ReportStateStore(_directory);
        var pending = New(store: store);
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.a", 2)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.a", 3)), T0, T0.AddSeconds(10));
        pending.Acknowledge(pending.Epoch, 1, 1);

        var saved = store.Load()!.Value;
        Assert.Equal((pending.Epoch, 3ul), (saved.Epoch, saved.LastSequence));
        Assert.Equal([2ul, 3ul], saved.Pending.Select(p => p.Sequence));
        Assert.Empty(_persistFailures);
        Assert.Empty(Directory.GetFiles(_directory, "*.tmp")); // written aside, then renamed
    }

    [Fact]
    public void ADamagedStateFile_IsRecognised()
    {
        var store = new ReportStateStore(_directory);
        File.WriteAllBytes(store.Path, [0x0a, 0xff, 0xff, 0xff]);
        Assert.ThrowsAny<Exception>(() => store.Load());
        var aside = store.SetAside();
        Assert.True(File.Exists(aside));
        Assert.Null(store.Load());
    }

    private PendingReports New(int maxPending = 360, ReportStateStore? store = null) =>
        new(PendingReports.NewEpoch(), 0, [], maxPending, store, _persistFailures.Add);

    private static List<ImageLoad> Loads(params (string Image, int Requests)[] images)
    {
        var recorder = new LoadRecorder();
        foreach (var (image, requests) in images)
        {
            for (var i = 0; i < requests; i++)
            {
                recorder.Record(image, "i1", 200, 10, TimeSpan.FromMilliseconds(4));
            }
        }
        return recorder.Collect().ToImageLoads();
    }
}
