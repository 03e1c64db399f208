using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.Grpc;

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

    [Fact]
    public void AReportRefusedForItsSize_IsSplitInTwo_TheLaterOnesNumberedAfterIt_AndLaterIntervalsPackedAsSmall()
    {
        var pending = New();
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        var big = Loads(Enumerable.Range(0, 8).Select(i => ($"img.{i}", i + 1)).ToArray()); // 8 images, 16 entries
        pending.Add(big, T0.AddSeconds(10), T0.AddSeconds(20));
        pending.Add(Loads(("img.z", 5)), T0.AddSeconds(20), T0.AddSeconds(30));
        pending.Acknowledge(pending.Epoch, 1, 1);
        var refused = pending.TakeOldest()!;
        Assert.Equal(2ul, refused.Sequence);

        var kept = new List<ReportLoadRequest>();
        var repair = pending.Refused(2, [new("images", "holds 8 images; at most 4")], kept.Add);

        Assert.Equal((RefusalAction.Split, 2), (repair.Action, repair.Parts));
        Assert.Empty(kept);
        Assert.Equal(8, pending.MaxEntries);
        var reports = Drain(pending);
        Assert.Equal([2ul, 3ul, 4ul], reports.Select(r => r.Sequence));
        Assert.Equal(4ul, pending.LastSequence);
        Assert.All(reports.Take(2), r => Assert.Equal(T0.AddSeconds(20), r.IntervalEnd.ToDateTimeOffset()));
        Assert.Equal(big.Select(i => (i.Image, i.ReqCount)), reports.Take(2).SelectMany(r => r.Images).Select(i => (i.Image, i.ReqCount)));
        Assert.All(reports, r => Assert.True(r.Images.Sum(i => 1 + i.Instances.Count) <= 8));
        Assert.Equal("img.z", reports[2].Images.Single().Image);

        // A later interval as large as the refused one is packed at the lowered size from the start.
        pending.Add(big, T0.AddSeconds(30), T0.AddSeconds(40));
        Assert.Equal(2, pending.Count);
    }

    [Fact]
    public void TheImagesARefusalNames_AreSetAside_AndTheRestOfTheReportKeepsItsSequence()
    {
        var pending = New();
        var images = Loads(("img.a", 1), ("img.b", 2), ("img.c", 3), ("img.d", 4));
        pending.Add(images, T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.e", 5)), T0.AddSeconds(10), T0.AddSeconds(20));
        pending.TakeOldest();

        var kept = new List<ReportLoadRequest>();
        var repair = pending.Refused(1, [new("images[1].image", "must be an image name"), new("images[3].instances[0].req_count", "must be 0 to 1000000000000 (got -1)")], kept.Add);

        Assert.Equal(RefusalAction.ImagesSetAside, repair.Action);
        var aside = Assert.Single(kept);
        Assert.Equal(["img.b", "img.d"], aside.Images.Select(i => i.Image));
        Assert.Equal((1ul, T0), (aside.Sequence, aside.IntervalStart.ToDateTimeOffset()));
        var reports = Drain(pending);
        Assert.Equal([1ul, 2ul], reports.Select(r => r.Sequence));
        Assert.Equal(["img.a", "img.c"], reports[0].Images.Select(i => i.Image));
        Assert.Equal(2ul, pending.LastSequence);
    }

    [Fact]
    public void AReportRefusedForItsInterval_IsSetAsideWhole_AndTheNextTakesItsSequence()
    {
        var pending = New();
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.b", 2)), T0.AddSeconds(10), T0.AddSeconds(20));
        pending.Add(Loads(("img.c", 3)), T0.AddSeconds(20), T0.AddSeconds(30));
        pending.Acknowledge(pending.Epoch, 1, 1);
        pending.TakeOldest();

        var kept = new List<ReportLoadRequest>();
        var repair = pending.Refused(2, [new("interval_end", "must be later than interval_start")], kept.Add);

        Assert.Equal(RefusalAction.ReportSetAside, repair.Action);
        Assert.Equal("img.b", Assert.Single(kept).Images.Single().Image);
        var report = Assert.Single(Drain(pending));
        Assert.Equal((2ul, "img.c"), (report.Sequence, report.Images.Single().Image));
        Assert.Equal(2ul, pending.LastSequence);
        pending.Add(Loads(("img.d", 1)), T0.AddSeconds(30), T0.AddSeconds(40));
        Assert.Equal(3ul, pending.LastSequence);
    }

    [Fact]
    public void ARefusalOfTheEpoch_MovesTheKeptReportsToANewOne()
    {
        var pending = New();
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.b", 2)), T0.AddSeconds(10), T0.AddSeconds(20));
        var old = pending.Epoch;
        pending.TakeOldest();

        Assert.Equal(RefusalAction.NewEpoch, pending.Refused(1, [new("epoch", "must be 1-64 characters from [A-Za-z0-9._:-]")], _ => Assert.Fail("nothing is set aside")).Action);

        Assert.NotEqual(old, pending.Epoch);
        Assert.Equal([(pending.Epoch, 1ul), (pending.Epoch, 2ul)], Drain(pending).Select(r => (r.Epoch, r.Sequence)));
    }

    [Fact]
    public void ARefusalNotAboutTheReport_OrOfAnotherReport_OrAFailedSetAside_ChangesNothing()
    {
        var store = new ReportStateStore(_directory);
        var pending = New(store: store);
        pending.Add(Loads(("img.a", 1), ("img.b", 2)), T0, T0.AddSeconds(10));
        pending.TakeOldest();
        var saved = File.ReadAllBytes(store.Path);

        Assert.Equal(RefusalAction.None, pending.Refused(1, [new("node.id", "is required")], _ => Assert.Fail("nothing is set aside")).Action);
        Assert.Equal(RefusalAction.None, pending.Refused(1, [], _ => Assert.Fail("nothing is set aside")).Action);
        Assert.Equal(RefusalAction.None, pending.Refused(2, [new("interval_end", "must be later than interval_start")], _ => Assert.Fail("nothing is set aside")).Action);
        Assert.Throws<IOException>(() => pending.Refused(1, [new("images[0].image", "must be an image name")], _ => throw new IOException("disk full")));
        Assert.Throws<IOException>(() => pending.Refused(1, [new("interval_end", "must be later than interval_start")], _ => throw new IOException("disk full")));

        Assert.Equal(saved, File.ReadAllBytes(store.Path));
        var report = Assert.Single(Drain(pending));
        Assert.Equal((1ul, 2), (report.Sequence, report.Images.Count));
    }

    [Fact]
    public void TheSetAsideFile_StopsGrowingAtItsLimit_AndThenNothingIsSetAside()
    {
        var store = new ReportStateStore(_directory, maxSetAsideBytes: 1);
        var pending = New(store: store);
        pending.Add(Loads(("img.a", 1)), T0, T0.AddSeconds(10));
        pending.Add(Loads(("img.b", 2)), T0.AddSeconds(10), T0.AddSeconds(20));
        pending.Add(Loads(("img.c", 3)), T0.AddSeconds(20), T0.AddSeconds(30));
        pending.TakeOldest();
        void Keep(ReportLoadRequest r) => store.SetAsideReport(r, "refused", T0);

        Assert.Equal(RefusalAction.ReportSetAside, pending.Refused(1, [new("interval_end", "must be later than interval_start")], Keep).Action);
        var length = new FileInfo(store.SetAsidePath).Length;
        pending.TakeOldest();
        Assert.Throws<IOException>(() => pending.Refused(1, [new("interval_end", "must be later than interval_start")], Keep));

        Assert.Equal(length, new FileInfo(store.SetAsidePath).Length);
        Assert.Equal(["img.b", "img.c"], Drain(pending).Select(r => r.Images.Single().Image)); // kept, to be sent again
    }

    // Every report held, in order, each acknowledged after it is taken.
    private static List<ReportLoadRequest> Drain(PendingReports pending)
    {
        var reports = new List<ReportLoadRequest>();
        while (pending.TakeOldest() is { } report)
        {
            reports.Add(report.Clone());
            pending.Acknowledge(pending.Epoch, report.Sequence, report.Sequence);
        }
        return reports;
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
