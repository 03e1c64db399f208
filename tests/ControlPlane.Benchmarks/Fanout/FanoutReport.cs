using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>The section of docs/benchmarks.md that the <c>fanout</c> benchmark writes.</summary>
internal static class FanoutReport
{
    public const string Heading = "## Config push fan-out vs etcd watch (issue 4)";

    public static string Section(FanoutSettings s, DateTimeOffset date, string etcdVersion, IReadOnlyList<CountRun> runs, DeltaCostResult? deltaCost = null)
    {
        var text = new StringBuilder();
        var first = runs[0];
        var compared = Enumerable.Range(0, first.Targets.Count).Where(i => i != first.BaselineIndex).ToArray();
        text.Append(Heading).Append("\n\n");
        text.Append('`').Append(s.Command).Append("`\n\n");
        text.Append(BenchmarksDocument.MachineLine(date, "etcd " + etcdVersion)).Append(' ');
        text.Append(Invariant($"Load average (1, 5, 15 min) before each count: {string.Join("; ", runs.Select(r => $"{r.Watchers:N0} watchers {r.LoadBefore}"))}.\n"));
        text.Append(Invariant($"Per target and watcher count: {s.WarmupChanges} unmeasured changes, then {s.Rounds} measured ones, targets alternating; medians over the changes.\n\n"));

        text.Append("| watchers | metric |");
        foreach (var target in first.Targets)
        {
            text.Append(' ').Append(target.Name).Append(" |");
        }
        foreach (var i in compared)
        {
            text.Append(compared.Length == 1 ? " ratio |" : $" {first.Targets[i].Name} / {first.Baseline.Name} |");
        }
        text.Append("\n|---:|---|").Append(string.Concat(Enumerable.Repeat("---:|", first.Targets.Count + compared.Length))).Append('\n');
        foreach (var run in runs)
        {
            Row(text, run, compared, "convergence p50, ms", t => t.P50.TotalMilliseconds, "N1");
            Row(text, run, compared, "convergence p99, ms", t => t.P99.TotalMilliseconds, "N1");
            Row(text, run, compared, "all watchers converged, ms", t => t.All.TotalMilliseconds, "N1");
            Row(text, run, compared, "server CPU per change, ms", t => t.ServerCpu?.TotalMilliseconds ?? double.NaN, "N0");
            Row(text, run, compared, "memory per idle watcher, bytes (over all the watchers)", t => t.BytesPerIdleWatcher, "N0");
            Row(text, run, compared, "memory per idle watcher, bytes (one more: the second half's growth)", t => t.Memory[0].MarginalBytesPerWatcher, "N0");
        }
        text.Append('\n');
        // The ceiling is measured beside the control plane; the aims are the control plane's.
        foreach (var i in compared.Where(i => first.Targets[i].Name != ControlPlaneDiscoveryTarget.BareKestrelName))
        {
            Aims(text, runs, i, deltaCost);
        }

        text.Append(Invariant($"""
            How to read it: a *change* is one write that every watcher must see, made just after the previous
            one has reached them all; a watcher's time runs from just before the write is sent to the moment
            this process has read the change from that watcher's stream, so it includes the client's work of
            reading it, the same for every target. *all watchers converged* is the time of the last one.
            *server CPU per change* is the CPU time the server's process spent from just before the write until
            every watcher had the change (the kernel counts it in 10 ms ticks, so it is coarse at small counts). *{ControlPlaneDiscoveryTarget.BareKestrelName}* is the ceiling of the stack the control plane
            is built on: Kestrel alone doing its share of a push and its ACK, with the same client and nodes.
            Ratios are target / {first.Baseline.Name}: below 1 is faster or smaller. The issue aims for
            p99 under {FanoutSettings.P99Aim.TotalMilliseconds:0} ms at {FanoutSettings.AimWatchers:N0} watchers, no slower than etcd at the same
            count, and under {FanoutSettings.BytesPerIdleWatcherAim:N0} bytes per idle stream. Watchers and writers run in
            this process; the servers share its 2 cores.
            """));
        text.Append("\n\n");
        foreach (var target in first.Targets)
        {
            text.Append(Invariant($"- *{target.Name}*: {target.Description}. Memory per idle watcher: {target.Memory[0].Method}, with the watchers open and idle minus before they were opened, divided by their number; they are opened in two halves and read between, so the second half's growth divided by its watchers is what one more idle watcher costs, without the one-off costs (code compiled on first use, grown pools) the first half pays"));
            var others = target.Memory.Skip(1).ToArray();
            if (others.Length > 0)
            {
                text.Append("; also ").Append(string.Join("; ", others.Select(m => m.Method))).Append(" (below)");
            }
            text.Append(".\n");
        }
        text.Append('\n');

        if (deltaCost is not null)
        {
            DeltaCost(text, deltaCost);
        }

        text.Append("Per-change values (p50 / p99 / all converged, ms; write answered, ms; CPU time of the server's own process, if it has one, and of this one, ms) and memory:\n\n");
        foreach (var run in runs)
        {
            foreach (var target in run.Targets)
            {
                var changes = string.Join(", ", target.Changes.Select(c => $"{ChangeStats.Ms(c.P50)} / {ChangeStats.Ms(c.P99)} / {ChangeStats.Ms(c.All)}"));
                var writes = string.Join(", ", target.Changes.Select(c => ChangeStats.Ms(c.WriteAnswered)));
                var serverCpu = target.Changes.All(c => c.ServerCpu is not null)
                    ? "; server process CPU " + string.Join(", ", target.Changes.Select(c => c.ServerCpu!.Value.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)))
                    : "";
                var thisCpu = string.Join(", ", target.Changes.Select(c => c.ThisProcessCpu.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)));
                text.Append(Invariant($"- {run.Watchers:N0} watchers, {target.Name}: {changes}; write answered {writes}{serverCpu}; this process CPU {thisCpu}\n"));
                foreach (var memory in target.Memory)
                {
                    text.Append(Invariant($"- {run.Watchers:N0} watchers, {target.Name}, {memory.Method}: {memory.Before:N0} B without watchers, {memory.Middle:N0} B with half, {memory.After:N0} B with all: {memory.BytesPerWatcher:N0} B per watcher over all, {memory.MarginalBytesPerWatcher:N0} B per watcher of the second half\n"));
                }
            }
        }
        return text.ToString().TrimEnd('\n') + "\n";
    }

    /// <summary>The issue's aims for target <paramref name="index"/>, each with what was measured and whether it is met.</summary>
    private static void Aims(StringBuilder text, IReadOnlyList<CountRun> runs, int index, DeltaCostResult? deltaCost)
    {
        var name = runs[0].Targets[index].Name;
        var baseline = runs[0].Baseline.Name;
        text.Append(Invariant($"The issue's aims for the {name}:\n\n| aim | measured | met |\n|---|---|---|\n"));

        var atAim = runs.FirstOrDefault(r => r.Watchers == FanoutSettings.AimWatchers);
        text.Append(Invariant($"| p99 under {FanoutSettings.P99Aim.TotalMilliseconds:0} ms at {FanoutSettings.AimWatchers:N0} watchers | "));
        text.Append(atAim is null
            ? Invariant($"not measured in this run (no {FanoutSettings.AimWatchers:N0} watchers) | - |\n")
            : Invariant($"{atAim.Targets[index].P99.TotalMilliseconds:N1} ms | {YesNo(atAim.Targets[index].P99 < FanoutSettings.P99Aim)} |\n"));

        static double Ratio(double value, double of) => of > 0 ? value / of : double.PositiveInfinity;
        var slower = runs.Select(r => (r.Watchers,
            P50: Ratio(r.Targets[index].P50.TotalMilliseconds, r.Baseline.P50.TotalMilliseconds),
            P99: Ratio(r.Targets[index].P99.TotalMilliseconds, r.Baseline.P99.TotalMilliseconds))).ToArray();
        text.Append(Invariant($"| no slower than {baseline} at the same count (p50 and p99 ratios at most 1.00) | "));
        text.Append(string.Join("; ", slower.Select(r => Invariant($"{r.Watchers:N0} watchers: p50 {r.P50:0.00}, p99 {r.P99:0.00}"))));
        text.Append(Invariant($" | {YesNo(slower.All(r => r.P50 <= 1 && r.P99 <= 1))} |\n"));

        var memory = runs.Select(r => (r.Watchers, Target: r.Targets[index])).ToArray();
        // Judged where the resident set resolves it: the GC commits memory in regions of a few MB, which
        // over the 500 streams of the 1,000 count's second half is several KB per stream either way.
        var judged = memory.Any(m => m.Watchers >= FanoutSettings.AimWatchers) ? memory.Where(m => m.Watchers >= FanoutSettings.AimWatchers).ToArray() : memory;
        text.Append(Invariant($"| under {FanoutSettings.BytesPerIdleWatcherAim:N0} bytes per idle stream ({memory[0].Target.Memory[0].Method.Split(" (")[0]}: what one more stream adds, the growth over the second half of the streams; judged at {judged[0].Watchers:N0} watchers, where a GC region of 4 MB is {4.0 * 1024 * 1024 / (judged[0].Watchers / 2):N0} bytes per stream of the half) | "));
        text.Append(string.Join("; ", memory.Select(m => Invariant($"{m.Watchers:N0} watchers: {m.Target.Memory[0].MarginalBytesPerWatcher:N0} (over all the streams {m.Target.BytesPerIdleWatcher:N0}")
            + (m.Target.Memory.Count > 1 ? Invariant($"; managed heap {m.Target.Memory[1].MarginalBytesPerWatcher:N0}") : "") + ")")));
        text.Append(Invariant($" | {YesNo(judged.All(m => m.Target.Memory[0].MarginalBytesPerWatcher < FanoutSettings.BytesPerIdleWatcherAim))} |\n"));

        if (deltaCost is not null)
        {
            text.Append(Invariant($"| a delta push of one changed endpoint among {deltaCost.Images:N0} images costs each node bytes in proportion to the change (at most 2 average endpoint sets' worth) | "));
            text.Append(Invariant($"{deltaCost.ChangeBytes:N0} bytes, {deltaCost.ChangeInResources:0.0} endpoint sets' worth; the full state is {deltaCost.InitialBytes:N0} bytes | {YesNo(deltaCost.AimMet)} |\n"));
        }
        text.Append('\n');
    }

    /// <summary>The delta push cost table and how to read it.</summary>
    private static void DeltaCost(StringBuilder text, DeltaCostResult d)
    {
        text.Append(Invariant($"Delta push cost: {d.Images:N0} images of one instance each, {d.Nodes:N0} nodes on delta streams subscribed to every endpoint set; per node, medians over the nodes:\n\n"));
        text.Append("| what a node received | bytes | responses | share of the full state |\n|---|---:|---:|---:|\n");
        text.Append(Invariant($"| the full state: {d.Images:N0} endpoint sets | {d.InitialBytes:N0} | {d.InitialResponses:N0} | 1 |\n"));
        text.Append(Invariant($"| one changed instance ({d.ChangeResources:N0} endpoint set) | {d.ChangeBytes:N0} | {d.ChangeResponses:N0} | {d.ChangeShareOfInitial:0.000000} |\n"));
        text.Append('\n');
        text.Append(Invariant($"""
            How to read it: a fresh control plane in its own process (as above) gets {d.Images:N0} images of one
            instance each, registered over gRPC; then {d.Nodes:N0} nodes, spread over {FanoutSettings.ConnectionsText(d.Connections)},
            subscribe to every endpoint set and take the full state (split by the server into responses of about 1 MB,
            each acknowledged before the next); then one instance of one image registers again on another port. A node's
            bytes are the gRPC messages it received (protobuf bytes plus the 5-byte length prefix; HTTP/2 framing not
            counted), for the change everything from just before the registration until {d.QuietPause.TotalSeconds:0.#} s after the last node had it
            (the most any node received: {d.ChangeBytesMax:N0}). The full state averages {d.InitialBytesPerResource:N0} bytes per endpoint set,
            so the change cost {d.ChangeInResources:0.0} endpoint sets' worth. The change reached half the nodes in
            {d.ChangeP50.TotalMilliseconds:0.0} ms and all in {d.ChangeAll.TotalMilliseconds:0.0} ms; the server spent {d.ServerCpu.TotalMilliseconds:0} ms of CPU on it.
            """));
        text.Append("\n\n");
    }

    private static string YesNo(bool met) => met ? "yes" : "no";

    private static void Row(StringBuilder text, CountRun run, int[] compared, string metric, Func<TargetRun, double> value, string format)
    {
        text.Append(Invariant($"| {run.Watchers:N0} | {metric} |"));
        foreach (var target in run.Targets)
        {
            text.Append(' ').Append(value(target).ToString(format, CultureInfo.InvariantCulture)).Append(" |");
        }
        foreach (var i in compared)
        {
            var baseline = value(run.Baseline);
            text.Append(baseline > 0 ? Invariant($" {value(run.Targets[i]) / baseline:0.00} |") : " - |");
        }
        text.Append('\n');
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
