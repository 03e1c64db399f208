using System.Globalization;
using System.Text;
using ControlPlane.Benchmarks.Reporting;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>The section of docs/benchmarks.md that the <c>fanout</c> benchmark writes.</summary>
internal static class FanoutReport
{
    public const string Heading = "## Config push fan-out vs etcd watch (issue 4)";

    public static string Section(FanoutSettings s, DateTimeOffset date, string etcdVersion, IReadOnlyList<CountRun> runs)
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
            Row(text, run, compared, "memory per idle watcher, bytes", t => t.BytesPerIdleWatcher, "N0");
        }
        text.Append('\n');

        text.Append(Invariant($"""
            How to read it: a *change* is one write that every watcher must see, made just after the previous
            one has reached them all; a watcher's time runs from just before the write is sent to the moment
            this process has read the change from that watcher's stream, so it includes the client's work of
            reading it, the same for every target. *all watchers converged* is the time of the last one.
            Ratios are target / {first.Baseline.Name}: below 1 is faster or smaller. The issue aims for
            p99 under {FanoutSettings.P99Aim.TotalMilliseconds:0} ms at {FanoutSettings.AimWatchers:N0} watchers, no slower than etcd at the same
            count, and under {FanoutSettings.BytesPerIdleWatcherAim:N0} bytes per idle stream. Watchers and writers run in
            this process; the servers share its 2 cores.
            """));
        text.Append("\n\n");
        foreach (var target in first.Targets)
        {
            text.Append(Invariant($"- *{target.Name}*: {target.Description}. Memory per idle watcher: {target.Memory[0].Method}, with the watchers open and idle minus before they were opened, divided by their number"));
            var others = target.Memory.Skip(1).ToArray();
            if (others.Length > 0)
            {
                text.Append("; also ").Append(string.Join("; ", others.Select(m => m.Method))).Append(" (below)");
            }
            text.Append(".\n");
        }
        text.Append('\n');

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
                    text.Append(Invariant($"- {run.Watchers:N0} watchers, {target.Name}, {memory.Method}: {memory.Before:N0} B without watchers, {memory.After:N0} B with them, {memory.BytesPerWatcher:N0} B per watcher\n"));
                }
            }
        }
        return text.ToString().TrimEnd('\n') + "\n";
    }

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
