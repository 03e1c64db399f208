using System.Globalization;

namespace ControlPlane.Benchmarks.Measurement;

/// <summary>One measured run of one target: ramp-up, then the measured window.</summary>
internal delegate Task<Sample> Run(TimeSpan ramp, TimeSpan duration);

/// <summary>
/// Runs targets of one metric in turn (A, B, A, B ...) after warming each up, so that every
/// target sees the same machine load over the run and the ratio of medians is meaningful.
/// </summary>
internal static class AlternatingRounds
{
    /// <summary>Runs one-second slices until three in a row agree within 5% (the JIT has settled), or the cap.</summary>
    private static async Task WarmUpAsync(IRoundSettings s, string name, Run run, CancellationToken ct)
    {
        const double Tolerance = 0.05;
        var rates = new List<double>();
        var steady = false;
        while (!steady && rates.Count < s.MaxWarmupSlices)
        {
            ct.ThrowIfCancellationRequested();
            rates.Add((await run(TimeSpan.FromMilliseconds(200), s.WarmupSlice)).Rate);
            if (rates.Count >= 3)
            {
                var last = rates[^3..];
                var mean = last.Average();
                steady = last.All(r => Math.Abs(r - mean) <= Tolerance * mean);
            }
        }
        Console.WriteLine($"  warm-up {name}: {rates.Count} slices{(steady ? "" : " (not steady)")}: " +
            string.Join(" ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture))));
    }

    /// <summary>Warms each target up, then runs rounds of the targets in turn.</summary>
    public static async Task<Comparison> CompareAsync(
        IRoundSettings s, string metric, IReadOnlyList<(string Name, Run Run)> targets, int baseline, CancellationToken ct)
    {
        Console.WriteLine();
        Console.WriteLine($"{metric} (thread pool: {ThreadPool.ThreadCount} threads)");
        foreach (var (name, run) in targets)
        {
            await WarmUpAsync(s, name, run, ct);
        }
        var samples = targets.Select(_ => new List<Sample>()).ToArray();
        for (var round = 1; round <= s.Rounds; round++)
        {
            ct.ThrowIfCancellationRequested();
            for (var i = 0; i < targets.Count; i++)
            {
                samples[i].Add(await targets[i].Run(s.Ramp, s.Duration));
            }
            var rates = string.Join(", ", targets.Select((t, i) => $"{t.Name} {Format(samples[i][^1])}"));
            var ratios = string.Join(", ", Enumerable.Range(0, targets.Count).Where(i => i != baseline).Select(i =>
                string.Create(CultureInfo.InvariantCulture, $"{targets[i].Name} {samples[i][^1].Rate / samples[baseline][^1].Rate:0.00}")));
            Console.WriteLine($"  round {round}: {rates} (ratio to {targets[baseline].Name}: {ratios})");
        }
        return new Comparison(metric, targets.Select((t, i) => new Series(t.Name, samples[i])).ToArray(), baseline);
    }

    private static string Format(Sample sample)
    {
        var text = sample.Rate.ToString("N0", CultureInfo.InvariantCulture);
        if (sample.CpuMicrosecondsPerOp is { } cpu)
        {
            text += string.Create(CultureInfo.InvariantCulture, $" [{cpu:0.0} µs CPU, {sample.BytesPerOp:N0} B per op");
            text += sample.CoresBusy is { } cores ? string.Create(CultureInfo.InvariantCulture, $"; {cores:0.00} cores, {sample.GcPauseShare * 100:0}% in GC]") : "]";
        }
        return text;
    }
}
