using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Reporting;
using Google.Protobuf.WellKnownTypes;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Stats;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// The node's load reporter against real control-plane replicas on loopback: what it served is
/// counted exactly once through lost answers, reconnects, failover, restarts and a control plane
/// that forgot its epoch.
/// </summary>
public sealed class LoadReporterTests : IDisposable
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("dp-reporter-").FullName;

    public void Dispose() => Directory.Delete(_stateDirectory, recursive: true);

    [Fact]
    public async Task EachInterval_IsReportedAndAcknowledged_AndCountedExactly()
    {
        var store = new ScriptedStore(ReportingServer.NewStore());
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address]).StartAsync();

        node.Serve("img.a", 5);
        node.Clock.Advance(node.Reporter.Interval); // the timer closes the interval
        await node.WaitUntilAsync(() => node.Reporter.LastAcknowledged == 1, "report 1 acknowledged");
        node.Serve("img.a", 3, instance: "i2");
        node.Serve("img.b", 2, instance: null);
        node.Clock.Advance(node.Reporter.Interval);
        await node.WaitForAllAcknowledgedAsync();

        Assert.Equal(8, await ReportingServer.CountedAsync(store, "img.a"));
        Assert.Equal(2, await ReportingServer.CountedAsync(store, "img.b"));
        Assert.Equal([1ul, 2ul], store.Applied.Select(a => a.Sequence));
        Assert.All(store.Applied, a => Assert.Equal(new ReportKey("node-r", node.Reporter.Epoch), a.Key));
        Assert.Equal(server.Address.TrimEnd('/'), node.Reporter.ConnectedControlPlane?.TrimEnd('/'));
        // A quiet interval sends nothing and takes no sequence.
        node.Clock.Advance(node.Reporter.Interval);
        node.Reporter.CloseInterval();
        Assert.Equal(2ul, node.Reporter.LastSequence);
    }

    [Fact]
    public async Task ALostAnswer_IsResentOnANewStream_AndCountedOnce()
    {
        var store = new ScriptedStore(ReportingServer.NewStore());
        var lost = 0;
        store.LoseAnswer = s => s == 2 && Interlocked.Increment(ref lost) == 1; // the first answer to report 2 never arrives
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address]).StartAsync();

        node.Serve("img.a", 4);
        node.Reporter.CloseInterval();
        node.Serve("img.a", 6);
        node.Reporter.CloseInterval();
        node.Serve("img.a", 1);
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();

        Assert.Equal(11, await ReportingServer.CountedAsync(store));
        Assert.Equal(
            [(1ul, ReportDisposition.Accepted), (2ul, ReportDisposition.Accepted), (2ul, ReportDisposition.Duplicate), (3ul, ReportDisposition.Accepted)],
            store.Applied.Select(a => (a.Sequence, a.Result.Disposition)));
    }

    [Fact]
    public async Task Failover_ToAReplicaSharingTheStore_ResendsWhatTheFirstCountedButNeverAnswered_CountedOnce()
    {
        var shared = ReportingServer.NewStore();
        var first = new ScriptedStore(shared) { LoseAnswer = s => s >= 2 }; // replica A dies with report 2 counted, unanswered
        var second = new ScriptedStore(shared);
        await using var a = await ReportingServer.StartAsync(first);
        await using var b = await ReportingServer.StartAsync(second);
        await using var node = await new ReporterBed([a.Address, b.Address]).StartAsync();

        node.Serve("img.a", 4);
        node.Reporter.CloseInterval();
        await node.WaitUntilAsync(() => node.Reporter.LastAcknowledged == 1, "report 1 acknowledged by A");
        node.Serve("img.a", 6);
        node.Reporter.CloseInterval();
        node.Serve("img.a", 5);
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();

        Assert.Equal(15, await ReportingServer.CountedAsync(shared));
        Assert.Contains((2ul, ReportDisposition.Accepted), first.Applied.Select(x => (x.Sequence, x.Result.Disposition)));
        Assert.Equal([(2ul, ReportDisposition.Duplicate), (3ul, ReportDisposition.Accepted)], second.Applied.Select(x => (x.Sequence, x.Result.Disposition)));
        Assert.Equal(b.Address.TrimEnd('/'), node.Reporter.ConnectedControlPlane?.TrimEnd('/'));
    }

    [Fact]
    public async Task AControlPlaneThatAnswersAndDrops_IsMetWithGrowingDelays_NotAStreamEveryQuarterSecond()
    {
        var store = new ScriptedStore(ReportingServer.NewStore());
        var applied = 0;
        store.LoseAnswer = _ => Interlocked.Increment(ref applied) % 2 == 0; // every stream: one answer, then the replica goes away
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address], instantReconnect: false, random: new HighRandom()).StartAsync();
        for (var i = 0; i < 5; i++)
        {
            node.Serve("img.a", 1);
            node.Reporter.CloseInterval();
        }

        var delays = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            await node.WaitUntilAsync(() => Delays(node).Count > i, $"stream {i + 1} to end");
            delays = Delays(node);
            node.Clock.Advance(delays[i]);
        }

        Assert.True(delays[0] < delays[1] && delays[1] < delays[2], string.Join(", ", delays));

        // Nothing lost on the way: once the replica stays, every report is counted once.
        store.LoseAnswer = _ => false;
        await node.WaitUntilAsync(() =>
        {
            node.Clock.Advance(TimeSpan.FromSeconds(30)); // past any reconnect delay, at every turn
            return node.Reporter.PendingCount == 0 && node.Reporter.LastAcknowledged == node.Reporter.LastSequence;
        }, "every report acknowledged");
        Assert.Equal(5, await ReportingServer.CountedAsync(store));
    }

    /// <summary>The reconnect delays the reporter logged (3002), in order.</summary>
    private static List<TimeSpan> Delays(ReporterBed node) =>
        [.. node.Logs.Records.Where(r => r.EventId.Id == 3002).Select(r => TimeSpan.Parse(r.Message[(r.Message.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Draws the top of every jitter range, so delays show the backoff's bound.</summary>
    private sealed class HighRandom : Random
    {
        public override double NextDouble() => 0.999;
    }

    [Fact]
    public async Task ARestartedNode_ResendsItsKeptReportsUnderTheSameEpoch()
    {
        string epoch;
        await using (var down = await new ReporterBed([ReporterBed.Unreachable()], _stateDirectory, instantReconnect: false).StartAsync())
        {
            epoch = down.Reporter.Epoch;
            down.Serve("img.a", 7);
            down.Reporter.CloseInterval();
            down.Serve("img.a", 2);
            // Stopping closes the last interval; with no control plane it stays on disk.
            await down.StopAsync();
            Assert.Equal(2, down.Reporter.PendingCount);
            Assert.True(File.Exists(down.Reporter.StatePath));
            Assert.Contains(down.Logs.Records, r => r.EventId.Id == 3009);
        }

        var store = new ScriptedStore(ReportingServer.NewStore());
        await using var server = await ReportingServer.StartAsync(store);
        await using var restarted = await new ReporterBed([server.Address], _stateDirectory).StartAsync();
        Assert.Equal(epoch, restarted.Reporter.Epoch);
        await restarted.WaitForAllAcknowledgedAsync();
        restarted.Serve("img.a", 1);
        restarted.Reporter.CloseInterval();
        await restarted.WaitForAllAcknowledgedAsync();

        Assert.Equal(10, await ReportingServer.CountedAsync(store));
        Assert.Equal([1ul, 2ul, 3ul], store.Applied.Select(x => x.Sequence));
        Assert.All(store.Applied, x => Assert.Equal(epoch, x.Key.Epoch));
        Assert.Contains(restarted.Logs.Records, r => r.EventId.Id == 3008);
    }

    [Fact]
    public async Task AControlPlaneThatForgotTheEpoch_GetsTheKeptReportsUnderANewEpoch()
    {
        string epoch;
        var server = await ReportingServer.StartAsync(ReportingServer.NewStore());
        await using (var node = await new ReporterBed([server.Address], _stateDirectory).StartAsync())
        {
            epoch = node.Reporter.Epoch;
            node.Serve("img.a", 3);
            node.Reporter.CloseInterval();
            await node.WaitForAllAcknowledgedAsync();
            await server.DisposeAsync();
            node.Serve("img.a", 4); // report 2: the control plane is gone, it stays on disk
        }

        // A control plane with a fresh store (the embedded store lost on restart) has never seen the epoch.
        var after = new ScriptedStore(ReportingServer.NewStore());
        await using var fresh = await ReportingServer.StartAsync(after);
        await using var restarted = await new ReporterBed([fresh.Address], _stateDirectory).StartAsync();
        await restarted.WaitUntilAsync(() => restarted.Reporter.Epoch != epoch && restarted.Reporter.PendingCount == 0, "the kept report acknowledged under a new epoch");

        Assert.Equal(4, await ReportingServer.CountedAsync(after));
        Assert.Equal([(epoch, 2ul, ReportDisposition.Gap), (restarted.Reporter.Epoch, 1ul, ReportDisposition.Accepted)], after.Applied.Select(x => (x.Key.Epoch, x.Sequence, x.Result.Disposition)));
        Assert.Contains(restarted.Logs.Records, r => r.EventId.Id == 3004);
    }

    [Fact]
    public async Task ADamagedStateFile_IsSetAside_AndTheNodeStartsANewEpoch()
    {
        File.WriteAllBytes(Path.Combine(_stateDirectory, ReportStateStore.FileName), [0x0a, 0xff, 0xff, 0xff]);
        var store = ReportingServer.NewStore();
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address], _stateDirectory).StartAsync();

        Assert.True(File.Exists(Path.Combine(_stateDirectory, ReportStateStore.FileName + ".damaged")));
        Assert.Contains(node.Logs.Records, r => r.EventId.Id == 3007);
        node.Serve("img.a", 2);
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();
        Assert.Equal(2, await ReportingServer.CountedAsync(store));
    }

    [Fact]
    public async Task AReportOverTheControlPlanesLimits_IsSplitUntilItFits_AndCountedExactly()
    {
        var store = new ScriptedStore(ReportingServer.NewStore());
        // A control plane whose operator set its limits below what nodes pack for (500 entries).
        await using var server = await ReportingServer.StartAsync(store, configure: o => o.MaxImagesPerReport = 3);
        await using var node = await new ReporterBed([server.Address]).StartAsync();

        for (var i = 0; i < 10; i++)
        {
            node.Serve($"img.{i}", i + 1);
        }
        node.Reporter.CloseInterval(); // one report of 10 images
        await node.WaitForAllAcknowledgedAsync();
        for (var i = 0; i < 10; i++)
        {
            node.Serve($"img.{i}", 1);
        }
        node.Reporter.CloseInterval(); // packed small enough from the start
        await node.WaitForAllAcknowledgedAsync();

        Assert.Equal(55 + 10, await ReportingServer.CountedAsync(store));
        Assert.Equal(Enumerable.Range(1, store.Applied.Count).Select(i => (ulong)i), store.Applied.Select(a => a.Sequence));
        Assert.All(store.Applied, a => Assert.Equal(ReportDisposition.Accepted, a.Result.Disposition));
        Assert.Equal(2, node.Logs.Records.Count(r => r.EventId.Id == 3010)); // 10 images, then 5 per report, then 2
        Assert.Equal(0, node.Reporter.SetAsideRequests);
    }

    [Fact]
    public async Task AReportCountedByOneReplica_ResentToAnotherWhoseLimitsRefuseIt_IsAcknowledgedAsADuplicate_NeverSplitAndCountedAgain()
    {
        var shared = ReportingServer.NewStore();
        var first = new ScriptedStore(shared) { LoseAnswer = s => s == 1 }; // A counts report 1, its answer never arrives
        var second = new ScriptedStore(shared);
        await using var a = await ReportingServer.StartAsync(first);
        await using var b = await ReportingServer.StartAsync(second, configure: o => o.MaxImagesPerReport = 3);
        await using var node = await new ReporterBed([a.Address, b.Address]).StartAsync();

        for (var i = 0; i < 10; i++)
        {
            node.Serve($"img.{i}", i + 1);
        }
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();

        Assert.Equal(55, await ReportingServer.CountedAsync(shared));
        Assert.Contains((1ul, ReportDisposition.Accepted), first.Applied.Select(x => (x.Sequence, x.Result.Disposition)));
        Assert.DoesNotContain(node.Logs.Records, r => r.EventId.Id is 3010 or 3011);
        Assert.Equal(1ul, node.Reporter.LastAcknowledged);
    }

    [Fact]
    public async Task AKeptReportTheControlPlaneRefuses_HasWhatItRefusedSetAside_AndTheRestCounted()
    {
        // A state file from an earlier version, holding an image name the control plane refuses.
        var epoch = PendingReports.NewEpoch();
        var recorder = new LoadRecorder();
        foreach (var (name, requests) in new[] { ("img.ok", 3), ("img.bad", 4), ("img.fine", 2) })
        {
            for (var i = 0; i < requests; i++)
            {
                recorder.Record(name, "i1", 200, 10, TimeSpan.FromMilliseconds(2));
            }
        }
        var images = recorder.Collect().ToImageLoads();
        images.Single(i => i.Image == "img.bad").Image = "img bad/..";
        var interval = (Start: Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-2)), End: Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)));
        var first = new ReportLoadRequest { Epoch = epoch, Sequence = 1, IntervalStart = interval.Start, IntervalEnd = interval.End };
        first.Images.AddRange(images);
        var second = new ReportLoadRequest { Epoch = epoch, Sequence = 2, IntervalStart = interval.End, IntervalEnd = interval.End }; // an empty interval
        second.Images.AddRange(images.Where(i => i.Image == "img.ok").Select(i => i.Clone()));
        var third = new ReportLoadRequest { Epoch = epoch, Sequence = 3, IntervalStart = interval.End, IntervalEnd = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) };
        third.Images.AddRange(images.Where(i => i.Image == "img.fine").Select(i => i.Clone()));
        new ReportStateStore(_stateDirectory).Save(epoch, 3, [first, second, third]);

        var store = new ScriptedStore(ReportingServer.NewStore());
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address], _stateDirectory).StartAsync();
        node.ExpectedErrors.Add(3011);
        await node.WaitForAllAcknowledgedAsync();

        // Report 1 without the refused image, then report 3 as 2: report 2 was refused whole.
        Assert.Equal(3 + 2 + 2, await ReportingServer.CountedAsync(store));
        Assert.Equal([(epoch, 1ul), (epoch, 2ul)], store.Applied.Select(a => (a.Key.Epoch, a.Sequence)));
        Assert.Equal(4 + 3, node.Reporter.SetAsideRequests);
        Assert.Equal(2, node.Logs.Records.Count(r => r.EventId.Id == 3011));
        var lines = File.ReadAllLines(Path.Combine(_stateDirectory, ReportStateStore.SetAsideFileName));
        Assert.Equal(2, lines.Length);
        using var image = JsonDocument.Parse(lines[0]);
        Assert.Contains($"images[{images.FindIndex(i => i.Image == "img bad/..")}].image", image.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        var setAside = ReportLoadRequest.Parser.ParseJson(image.RootElement.GetProperty("report").GetRawText());
        Assert.Equal(("img bad/..", 4L, 1ul), (setAside.Images.Single().Image, setAside.Images.Single().ReqCount, setAside.Sequence));
        using var report = JsonDocument.Parse(lines[1]);
        Assert.Contains("interval_end", report.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Later intervals go on from there.
        node.Serve("img.ok", 6);
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();
        Assert.Equal(3 + 2 + 2 + 6, await ReportingServer.CountedAsync(store));
        Assert.Equal(3ul, store.Applied[^1].Sequence);
    }

    [Fact]
    public async Task TheReportIntervalAControlPlaneAsksFor_IsUsed()
    {
        await using var server = await ReportingServer.StartAsync(ReportingServer.NewStore(), configure: o => o.ReportInterval = TimeSpan.FromSeconds(2));
        await using var node = await new ReporterBed([server.Address]).StartAsync();
        node.Serve("img.a", 1);
        node.Reporter.CloseInterval();
        await node.WaitForAllAcknowledgedAsync();
        Assert.Equal(TimeSpan.FromSeconds(2), node.Reporter.Interval);

        node.Serve("img.a", 1);
        node.Clock.Advance(TimeSpan.FromSeconds(2)); // the timer now fires every 2 s
        await node.WaitUntilAsync(() => node.Reporter.LastAcknowledged == 2, "report 2 after 2 s");
    }

    [Fact]
    public async Task Stopping_FlushesTheLastInterval()
    {
        var store = ReportingServer.NewStore();
        await using var server = await ReportingServer.StartAsync(store);
        await using var node = await new ReporterBed([server.Address], _stateDirectory, o => o.FlushTimeout = TimeSpan.FromSeconds(20)).StartAsync();
        node.Serve("img.a", 9);

        await node.StopAsync();

        Assert.Equal(0, node.Reporter.PendingCount);
        Assert.Equal(9, await ReportingServer.CountedAsync(store));
    }

    [Fact]
    public async Task WithADataplaneToken_OnlyANodePresentingItIsCounted()
    {
        var token = DataplaneToken.FromValue("node-secret-2b7", PlatformToken.FromValue("admin-secret-c41"));
        var store = new ScriptedStore(ReportingServer.NewStore());
        await using var server = await ReportingServer.StartAsync(store, token);

        await using (var stranger = await new ReporterBed([server.Address], instantReconnect: false).StartAsync())
        {
            stranger.Serve("img.a", 5);
            stranger.Reporter.CloseInterval();
            await stranger.WaitUntilAsync(() => stranger.Logs.Records.Any(r => r.EventId.Id == 3002 && r.Message.Contains("Unauthenticated", StringComparison.Ordinal)), "the refusal");
            Assert.Equal(1, stranger.Reporter.PendingCount); // kept, not lost
        }
        Assert.Empty(store.Applied);

        await using var member = await new ReporterBed([server.Address], token: "node-secret-2b7").StartAsync();
        member.Serve("img.a", 5);
        member.Reporter.CloseInterval();
        await member.WaitForAllAcknowledgedAsync();
        Assert.Equal(5, await ReportingServer.CountedAsync(store));
    }
}
