using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.Reporting;
using ControlPlane.Grpc;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// Issue 4: how long one change takes to reach every watching node, and what an idle watcher costs
/// the server, for the control plane's discovery streams beside etcd's watch at the same watcher
/// counts, in one run: for each count, fresh servers, every target started, then changes alternating
/// between targets.
/// </summary>
internal static class FanoutBenchmark
{
    public static async Task<int> RunAsync(FanoutSettings settings, CancellationToken cancellationToken)
    {
#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; benchmark with -c Release.");
#endif
        if (FanoutTargets.Create(settings) is not { } targets)
        {
            Console.Error.WriteLine("The control plane's side of this benchmark (its discovery streams) is not available in this build; run with --etcd-only.");
            return 2;
        }
        Console.WriteLine($"{settings.Command}{Environment.NewLine}{Environment.ProcessorCount} cores, load average {ProcFs.LoadAverage()}");
        var clock = Stopwatch.StartNew();
        var etcdVersion = await EtcdServer.VersionAsync(cancellationToken)
            ?? throw new InvalidOperationException("etcd is not installed: apt-get install etcd-server.");
        var runs = new List<CountRun>();
        foreach (var watchers in settings.Watchers)
        {
            runs.Add(await RunCountAsync(settings, targets.Targets, targets.Baseline, watchers, cancellationToken));
        }

        // The control plane alone: what one changed endpoint costs each node among many images.
        var deltaCost = !settings.EtcdOnly && settings.DeltaImages > 0 ? await DeltaPushCost.MeasureAsync(settings, cancellationToken) : null;

        var section = FanoutReport.Section(settings, DateTimeOffset.UtcNow, etcdVersion, runs, deltaCost);
        Console.WriteLine();
        Console.WriteLine(section);
        if (settings.EtcdOnly)
        {
            Console.WriteLine("Not writing the report: --etcd-only measured the baseline alone.");
        }
        else
        {
            BenchmarksDocument.Publish(settings.OutputPath, FanoutReport.Heading, section);
        }
        Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
        return 0;
    }

    /// <summary>One watcher count: starts every target, warms each up, measures changes in alternating order, and stops them all.</summary>
    private static async Task<CountRun> RunCountAsync(
        FanoutSettings s, Func<IFanoutTarget>[] factories, int baseline, int watchers, CancellationToken ct)
    {
        var loadBefore = ProcFs.LoadAverage();
        Console.WriteLine();
        Console.WriteLine($"{watchers:N0} watchers over {FanoutSettings.ConnectionsText(s.Connections)} (load average {loadBefore})");
        var targets = new List<IFanoutTarget>();
        try
        {
            foreach (var factory in factories)
            {
                var target = factory();
                targets.Add(target);
                Console.WriteLine($" {target.Name}: starting");
                await target.StartAsync(watchers, ct);
                foreach (var memory in target.Memory)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {memory.Method}: {memory.Before:N0} B without watchers, {memory.Middle:N0} B with half, {memory.After:N0} B with {watchers:N0} idle: {memory.BytesPerWatcher:N0} B per watcher, {memory.MarginalBytesPerWatcher:N0} B per watcher of the second half"));
                }
            }
            for (var w = 1; w <= s.WarmupChanges; w++)
            {
                foreach (var target in targets)
                {
                    await Task.Delay(s.Pause, ct);
                    Console.WriteLine($"  warm-up {w} {target.Name}: {await MeasureAsync(target, ct)}");
                }
            }
            var changes = targets.Select(_ => new List<ChangeStats>()).ToArray();
            for (var round = 1; round <= s.Rounds; round++)
            {
                // A B, then B A: neither target always runs right after the other one's change.
                var order = Enumerable.Range(0, targets.Count);
                foreach (var i in round % 2 == 1 ? order : order.Reverse())
                {
                    await Task.Delay(s.Pause, ct);
                    var stats = await MeasureAsync(targets[i], ct);
                    changes[i].Add(stats);
                    Console.WriteLine($"  round {round} {targets[i].Name}: {stats}");
                }
            }
            return new CountRun(
                watchers,
                targets.Select((t, i) => new TargetRun(t.Name, t.Description, t.Memory, changes[i])).ToArray(),
                baseline,
                loadBefore,
                ProcFs.LoadAverage());
        }
        finally
        {
            for (var i = targets.Count - 1; i >= 0; i--)
            {
                await targets[i].DisposeAsync();
            }
        }
    }

    private static async Task<ChangeStats> MeasureAsync(IFanoutTarget target, CancellationToken ct)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var change = await target.MeasureOneChangeAsync(ct);
        process.Refresh();
        return ChangeStats.Of(change, process.TotalProcessorTime - cpu);
    }
}
