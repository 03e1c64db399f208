using System.Globalization;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// One change as the report uses it: percentiles of the watchers' times, when the write was answered,
/// and CPU time spent by the server's own process (when it has one) and by this process (watchers and
/// writer, plus the server when it runs here) during the change.
/// </summary>
internal sealed record ChangeStats(TimeSpan P50, TimeSpan P99, TimeSpan All, TimeSpan WriteAnswered, TimeSpan? ServerCpu, TimeSpan ThisProcessCpu)
{
    public static ChangeStats Of(FanoutChange change, TimeSpan thisProcessCpu)
    {
        var sorted = change.Converged.Order().ToArray();
        return new ChangeStats(Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted[^1], change.WriteAnswered, change.ServerCpu, thisProcessCpu);
    }

    /// <summary>Nearest rank: the smallest time that at least <paramref name="p"/> of the watchers had reached.</summary>
    private static TimeSpan Percentile(TimeSpan[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"p50 {Ms(P50)} ms, p99 {Ms(P99)} ms, all {Ms(All)} ms (write answered in {Ms(WriteAnswered)} ms; CPU: " +
        $"{(ServerCpu is { } server ? $"server process {server.TotalMilliseconds:0} ms, " : "")}this process {ThisProcessCpu.TotalMilliseconds:0} ms)");

    public static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString(t.TotalMilliseconds < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);
}

/// <summary>One target at one watcher count: how it was set up, its idle memory, and its measured changes in round order.</summary>
internal sealed record TargetRun(string Name, string Description, IReadOnlyList<IdleMemory> Memory, IReadOnlyList<ChangeStats> Changes)
{
    public TimeSpan P50 => Median(Changes.Select(c => c.P50));

    public TimeSpan P99 => Median(Changes.Select(c => c.P99));

    public TimeSpan All => Median(Changes.Select(c => c.All));

    public TimeSpan WriteAnswered => Median(Changes.Select(c => c.WriteAnswered));

    /// <summary>The median CPU time of the server's own process per change; null when it runs in this one.</summary>
    public TimeSpan? ServerCpu => Changes.All(c => c.ServerCpu is not null) ? Median(Changes.Select(c => c.ServerCpu!.Value)) : null;

    public double BytesPerIdleWatcher => Memory[0].BytesPerWatcher;

    private static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>Every target at one watcher count, in report order; <see cref="BaselineIndex"/> is etcd's.</summary>
internal sealed record CountRun(int Watchers, IReadOnlyList<TargetRun> Targets, int BaselineIndex, string LoadBefore, string LoadAfter)
{
    public TargetRun Baseline => Targets[BaselineIndex];
}
