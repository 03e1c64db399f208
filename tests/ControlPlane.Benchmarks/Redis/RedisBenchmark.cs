using System.Diagnostics;
using System.Globalization;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Registry;
using ControlPlane.Benchmarks.Reporting;
using ControlPlane.Grpc;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>
/// Issue 6: registrations/s and instance heartbeats/s through one and through two control-plane
/// replicas sharing one Redis, beside the embedded store's rates and redis-benchmark's on the same
/// server, in one run; and how long a change made through one replica takes to reach a node
/// watching the other. Every server runs in a process of its own (started here, stopped at the end):
/// redis-server, replicas cp-a and cp-b on it, and a control plane on the embedded store; the load
/// generators run in this process.
/// </summary>
internal static class RedisBenchmark
{
    public static async Task<int> RunAsync(RedisSettings settings, CancellationToken cancellationToken)
    {
#if DEBUG
        Console.Error.WriteLine("warning: a Debug build; benchmark with -c Release.");
#endif
        var loadBefore = ProcFs.LoadAverage();
        Console.WriteLine($"{settings.Command}{Environment.NewLine}{Environment.ProcessorCount} cores, load average {loadBefore}");
        var clock = Stopwatch.StartNew();
        var redisVersion = await RedisServerProcess.VersionAsync(cancellationToken)
            ?? throw new InvalidOperationException($"{RedisServerProcess.Executable} is not installed: apt-get install redis-server.");
        await using var redis = await RedisServerProcess.StartAsync(cancellationToken);
        Console.WriteLine($"redis-server {redisVersion}: pid {redis.ProcessId}, {redis.Url}");
        await using var embedded = await ControlPlaneServer.StartAsync(new Dictionary<string, string>(), cancellationToken);
        await using var a = await ControlPlaneServer.StartAsync(ReplicaSettings(redis, "cp-a"), cancellationToken);
        await using var b = await ControlPlaneServer.StartAsync(ReplicaSettings(redis, "cp-b"), cancellationToken);
        var version = await a.VersionAsync(cancellationToken);
        Console.WriteLine($"control plane {version}: embedded store pid {embedded.ProcessId} {embedded.GrpcUrl}; cp-a pid {a.ProcessId} {a.GrpcUrl}; cp-b pid {b.ProcessId} {b.GrpcUrl}");

        Console.WriteLine();
        Console.WriteLine("redis-benchmark against the same server (the store's ceiling):");
        var ceiling = await RedisBenchmarkTool.RunAsync(redis.Port, settings.RedisBenchmarkRequests, cancellationToken);

        var fleet = new Fleet();
        Uri[] one = [a.GrpcUrl], two = [a.GrpcUrl, b.GrpcUrl];
        var registrations = await AlternatingRounds.CompareAsync(settings, "registrations/s",
        [
            (RedisReport.Embedded, (ramp, duration) =>
                ReplicaLoad.RegistrationsAsync([embedded.GrpcUrl], fleet, settings.Connections, settings.CallsPerConnection, ramp, duration, cancellationToken)),
            (RedisReport.OneReplica, (ramp, duration) => InStepAfterAsync(
                ReplicaLoad.RegistrationsAsync(one, fleet, settings.Connections, settings.CallsPerConnection, ramp, duration, cancellationToken), redis, a, b, cancellationToken)),
            (RedisReport.TwoReplicas, (ramp, duration) => InStepAfterAsync(
                ReplicaLoad.RegistrationsAsync(two, fleet, settings.Connections, settings.CallsPerConnection, ramp, duration, cancellationToken), redis, a, b, cancellationToken)),
        ], baseline: 0, cancellationToken);

        Console.WriteLine();
        var first = fleet.Reserve(settings.Instances);
        var registering = Stopwatch.StartNew();
        await Task.WhenAll(
            ReplicaLoad.RegisterAsync(embedded.GrpcUrl, first, first + settings.Instances, cancellationToken),
            ReplicaLoad.RegisterAsync(a.GrpcUrl, first, first + settings.Instances, cancellationToken));
        await InStepAsync(redis, a, b, cancellationToken);
        Console.WriteLine($"Registered {settings.Instances:N0} instances in each store in {registering.Elapsed.TotalSeconds:0.0} s.");
        var beats = HeartbeatLoad.Create(first, settings.Instances, settings.Streams);
        var heartbeats = await AlternatingRounds.CompareAsync(settings, "instance heartbeats/s",
        [
            (RedisReport.Embedded, (ramp, duration) =>
                beats.OverGrpcAsync([embedded.GrpcUrl], HeartbeatLoad.HeartbeatStream, settings.Connections, settings.InFlight, ramp, duration, cancellationToken)),
            (RedisReport.OneReplica, (ramp, duration) =>
                beats.OverGrpcAsync(one, HeartbeatLoad.HeartbeatStream, settings.Connections, settings.InFlight, ramp, duration, cancellationToken)),
            (RedisReport.TwoReplicas, (ramp, duration) =>
                beats.OverGrpcAsync(two, HeartbeatLoad.HeartbeatStream, settings.Connections, settings.InFlight, ramp, duration, cancellationToken)),
        ], baseline: 0, cancellationToken);

        var convergence = await MeasureConvergenceAsync(settings, a, b, cancellationToken);
        var loadAfter = ProcFs.LoadAverage();

        var section = RedisReport.Section(settings, DateTimeOffset.UtcNow, redisVersion, version, loadBefore, loadAfter, ceiling, registrations, heartbeats, convergence);
        Console.WriteLine();
        Console.WriteLine(section);
        BenchmarksDocument.Publish(settings.OutputPath, RedisReport.Heading, section);
        Console.WriteLine($"Took {clock.Elapsed.TotalSeconds:0} s.");
        return 0;
    }

    private static Dictionary<string, string> ReplicaSettings(RedisServerProcess redis, string id) => new()
    {
        ["ControlPlane:Store:Kind"] = "redis",
        ["ControlPlane:Store:Redis:Url"] = redis.Url,
        ["ControlPlane:Discovery:ControlPlaneId"] = id,
    };

    /// <summary>Warm-up changes, then the timed ones, each after a quiet pause.</summary>
    private static async Task<ConvergenceResult> MeasureConvergenceAsync(RedisSettings s, ControlPlaneServer a, ControlPlaneServer b, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine($"a change through cp-a until a watcher on cp-a and one on cp-b hold it ({s.WarmupChanges} warm-up changes, then {s.Changes})");
        await using var convergence = await CrossReplicaConvergence.StartAsync(a.GrpcUrl, b.GrpcUrl, ct);
        var onA = new List<TimeSpan>();
        var onB = new List<TimeSpan>();
        var answered = new List<TimeSpan>();
        for (var i = -s.WarmupChanges; i < s.Changes; i++)
        {
            await Task.Delay(s.PauseBetweenChanges, ct);
            var (timeOnA, timeOnB, timeAnswered) = await convergence.MeasureOneChangeAsync(s.ChangeTimeout, ct);
            if (i >= 0)
            {
                onA.Add(timeOnA);
                onB.Add(timeOnB);
                answered.Add(timeAnswered);
            }
        }
        var result = new ConvergenceResult(onA, onB, answered);
        Console.WriteLine($"  watcher on cp-b: {result.OnB}; on cp-a: {result.OnA}; write answered: {result.Answered}");
        return result;
    }

    /// <summary>Runs <paramref name="run"/>, then waits until both replicas applied every change it made (the deregistrations after its window included).</summary>
    private static async Task<Sample> InStepAfterAsync(Task<Sample> run, RedisServerProcess redis, ControlPlaneServer a, ControlPlaneServer b, CancellationToken ct)
    {
        var sample = await run;
        await InStepAsync(redis, a, b, ct);
        return sample;
    }

    /// <summary>Until both replicas' controlplane_replication_revision reach the store's revision (its change_rev key), so that no run pays for the last one's changes.</summary>
    private static async Task InStepAsync(RedisServerProcess redis, ControlPlaneServer a, ControlPlaneServer b, CancellationToken ct)
    {
        var revision = long.Parse(await redis.CommandAsync(ct, "GET", "change_rev") ?? "0", CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        foreach (var replica in new[] { a, b })
        {
            while ((await replica.MetricAsync("controlplane_replication_revision", ct) ?? -1) < revision)
            {
                replica.ThrowIfExited();
                if (clock.Elapsed > TimeSpan.FromSeconds(120))
                {
                    throw new TimeoutException($"A replica did not apply revision {revision} within 120 s.");
                }
                await Task.Delay(50, ct);
            }
        }
    }
}

/// <summary>The timed changes: per change, when the watcher on A and the one on B had it, and when A answered the write.</summary>
internal sealed record ConvergenceResult(IReadOnlyList<TimeSpan> OnAValues, IReadOnlyList<TimeSpan> OnBValues, IReadOnlyList<TimeSpan> AnsweredValues)
{
    public Percentiles OnA => Percentiles.Of(OnAValues);

    public Percentiles OnB => Percentiles.Of(OnBValues);

    public Percentiles Answered => Percentiles.Of(AnsweredValues);
}

/// <summary>p50, p99 and the largest of some times (nearest rank).</summary>
internal sealed record Percentiles(TimeSpan P50, TimeSpan P99, TimeSpan Max, int Count)
{
    public static Percentiles Of(IReadOnlyList<TimeSpan> values)
    {
        var sorted = values.Order().ToArray();
        TimeSpan At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Percentiles(At(0.50), At(0.99), sorted[^1], sorted.Length);
    }

    public override string ToString() =>
        $"p50 {ChangeStats.Ms(P50)} ms, p99 {ChangeStats.Ms(P99)} ms, max {ChangeStats.Ms(Max)} ms over {Count} changes";
}
