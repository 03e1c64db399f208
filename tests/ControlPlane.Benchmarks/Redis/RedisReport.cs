using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Fanout;
using ControlPlane.Benchmarks.Measurement;
using ControlPlane.Benchmarks.Registry;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Redis;

/// <summary>Renders the results as markdown for this benchmark's section of docs/benchmarks.md.</summary>
internal static class RedisReport
{
    public const string Heading = "## Registry on Redis, one and two replicas (issue 6)";

    /// <summary>Target names, in the order every comparison lists them.</summary>
    public const string Embedded = "embedded store";
    public const string OneReplica = "Redis, one replica";
    public const string TwoReplicas = "Redis, two replicas";

    public static string Section(
        RedisSettings s, DateTimeOffset date, string redisVersion, string controlPlaneVersion, string loadBefore, string loadAfter,
        IReadOnlyList<RedisBenchmarkTool.Line> ceiling, Comparison registrations, Comparison heartbeats, ConvergenceResult convergence)
    {
        var md = new StringBuilder();
        md.AppendLine(Heading).AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"`{s.Command}`").AppendLine();
        md.AppendLine(BenchmarksDocument.MachineLine(date, $"redis-server {redisVersion}", $"ControlPlane.Server {controlPlaneVersion}")
            + $" Load average (1, 5, 15 min) at the start: {loadBefore}; at the end: {loadAfter}.");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"Each target warmed up until steady (at most {s.MaxWarmupSlices} slices of {s.WarmupSlice.TotalSeconds:0} s), then {s.Rounds} alternating rounds of {s.Duration.TotalSeconds:0.#} s; medians.").AppendLine();

        md.AppendLine(CultureInfo.InvariantCulture,
            $"| metric | {Embedded} | {OneReplica} | {TwoReplicas} | one replica / embedded | two replicas / embedded | aim | aim met |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---|");
        Row(md, registrations);
        Row(md, heartbeats);
        md.AppendLine();

        md.AppendLine("redis-benchmark against the same server, in the same run, before the control planes' load:").AppendLine();
        md.AppendLine("| redis-benchmark | arguments | requests/s |");
        md.AppendLine("|---|---|---:|");
        foreach (var line in ceiling)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| {line.Name} | `{line.Arguments}` | {line.RequestsPerSecond:N0} |");
        }
        md.AppendLine();

        var p99Met = convergence.OnB.P99 < RedisSettings.CrossReplicaP99Aim;
        md.AppendLine(CultureInfo.InvariantCulture, $"A change made through cp-a until a node holds it, {convergence.OnB.Count} changes:").AppendLine();
        md.AppendLine("| node watching | p50 | p99 | max | aim | aim met |");
        md.AppendLine("|---|---:|---:|---:|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| cp-b (the other replica) | {ChangeStats.Ms(convergence.OnB.P50)} ms | {ChangeStats.Ms(convergence.OnB.P99)} ms | {ChangeStats.Ms(convergence.OnB.Max)} ms | p99 < {RedisSettings.CrossReplicaP99Aim.TotalMilliseconds:0} ms | {(p99Met ? "yes" : "no")} |");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| cp-a (the replica written to) | {ChangeStats.Ms(convergence.OnA.P50)} ms | {ChangeStats.Ms(convergence.OnA.P99)} ms | {ChangeStats.Ms(convergence.OnA.Max)} ms | | |");
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| (the Register call answered) | {ChangeStats.Ms(convergence.Answered.P50)} ms | {ChangeStats.Ms(convergence.Answered.P99)} ms | {ChangeStats.Ms(convergence.Answered.Max)} ms | | |");
        md.AppendLine();

        md.AppendLine(CultureInfo.InvariantCulture, $"""
            The issue's aims: a replica on Redis keeps at least {RedisSettings.ShareOfEmbeddedAim:0.#} of the embedded store's registrations/s and
            heartbeats/s (the *aim met* column judges one replica, the deployment the embedded store can also be),
            and a change reaches a node watching another replica within {RedisSettings.CrossReplicaP99Aim.TotalMilliseconds:0} ms at p99.

            How to read it: every server runs in a process of its own, started by the benchmark: redis-server
            (persistence off: `--save "" --appendonly no`, so no disk write is measured; production runs it with
            `appendonly yes`), replicas cp-a and cp-b on it (`ControlPlane:Store:Kind=redis`), and a control plane on
            the embedded store; all are ControlPlane.Server from this build, logging at Warning. The load generators run in
            the benchmark's process: *registrations* come from the registry benchmark's lean HTTP/2 client
            ({s.Connections} connections × {s.CallsPerConnection} concurrent unary `Register` calls, each a new instance of 32 services, checked
            `registered` and `created`), *heartbeats* from its `HeartbeatStream` load ({s.Instances:N0} instances registered in each store
            first, {s.Streams} streams each renewing its own slice, {Fleet.BeatSize:N0} ids per beat, {s.InFlight} beats ahead of their
            answers; what counts is results `RENEWED`). *One replica*: every connection goes to cp-a, while cp-b runs and
            follows the changes, as a replica of a two-replica deployment does; *two replicas*: the connections
            alternate between cp-a and cp-b. Instances get a 1 h lease, so nothing expires during the run; a
            registration run's instances are deregistered after its window, and a Redis run waits until both
            replicas applied the store's last revision, so every run starts on the same store.
            On Redis each replica group-commits: registrations that arrive while its previous write is in flight
            share one `EVALSHA` of register.lua (each with its own guards, instance hash, indexes; a revision per
            changed image, one change-log write and one `PUBLISH` per call), and every replica then re-reads the
            instances the change entries name (one get.lua call per debounce window of 100 ms) and patches those
            images' endpoint sets in its discovery cache. Heartbeats are answered from
            the replica's lease table (`ControlPlane:Store:Redis:RenewalCheckpointInterval`, default 1 s): an id the
            replica knows is answered at once from memory (renewed, its status as last read from Redis, the deadline beat
            time + TTL); the first beat of an id on a replica is group-committed and answered once Redis holds it, and seeds
            the table. Every interval the replica checkpoints the ids renewed since the last one, each once, in `EVALSHA`s
            of renew.lua of up to {Fleet.BeatSize:N0} ids, which move only the ids' deadlines (`HMGET` of the TTLs,
            `SMISMEMBER` of the draining set, one `ZADD`), and expiry waits one interval plus a margin past Redis's deadline.
            So heartbeats/s here measures the replicas' lease tables, not Redis writes; with the interval set to 0 every
            beat would be group-committed and answered after Redis, as before.
            *redis-benchmark* gives the store's ceiling for such calls. `SET` is Redis's plain command rate. The
            `EVAL` lines run a one-key script, one call per operation: a ceiling for one registration per call,
            which group commit no longer is (one call carries many), and the pipelined one is shaped as a replica
            talks to Redis (StackExchange.Redis multiplexes every concurrent call of a replica over one connection,
            pipelined). No line here bounds heartbeats/s: checkpoints write each renewed id once per interval.
            The convergence changes are `Register` calls of new instances of one more image through cp-a, {s.PauseBetweenChanges.TotalMilliseconds:0} ms
            apart (longer than the debounce window, so each is pushed at once, as a lone change is), after {s.WarmupChanges} unmeasured
            ones; each watcher is a `DeltaResources` stream subscribed to that image's endpoint set on the fan-out
            benchmark's lean HTTP/2 client, and has a change when its stream delivers the set listing the new
            instance. On cp-b that is Redis's pub/sub message, cp-b's change follower reading the image from Redis,
            and cp-b's push.
            """);
        md.AppendLine();
        md.AppendLine("Per-round values:").AppendLine();
        foreach (var c in new[] { registrations, heartbeats })
        {
            var rounds = string.Join("; ", c.Targets.Select(t => t.Name + " " + string.Join(", ", t.Samples.Select(v => v.Rate.ToString("N0", CultureInfo.InvariantCulture)))));
            md.AppendLine(CultureInfo.InvariantCulture, $"- {c.Metric}: {rounds}");
        }
        return md.ToString();
    }

    private static void Row(StringBuilder md, Comparison c)
    {
        var embedded = c.Targets.Single(t => t.Name == Embedded);
        var one = c.Targets.Single(t => t.Name == OneReplica);
        var two = c.Targets.Single(t => t.Name == TwoReplicas);
        md.AppendLine(CultureInfo.InvariantCulture,
            $"| {c.Metric} | {embedded.Median:N0} | {one.Median:N0} | {two.Median:N0} | {c.Ratio(one):0.00} | {c.Ratio(two):0.00} | ≥ {RedisSettings.ShareOfEmbeddedAim:0.0} of embedded | {(c.Ratio(one) >= RedisSettings.ShareOfEmbeddedAim ? "yes" : "no")} |");
    }
}
