using System.Diagnostics;

namespace ControlPlane.Benchmarks.Measurement;

/// <summary>What a load worker sees: a counter to add to, a request to stop, and a hard abort.</summary>
internal sealed class LoadContext(CancellationToken abort)
{
    private long _count;
    private volatile bool _stopping;

    /// <summary>Finish the current call cleanly and return.</summary>
    public bool Stopping => _stopping;

    /// <summary>Cancelled when the run hangs or the user interrupts it.</summary>
    public CancellationToken Abort { get; } = abort;

    public long Count => Interlocked.Read(ref _count);

    public void Add(long n) => Interlocked.Add(ref _count, n);

    public void Stop() => _stopping = true;
}

/// <summary>Runs in-process load workers and measures their counter over a fixed window.</summary>
internal static class LoadRun
{
    /// <summary>Time given to workers to finish their calls after the window, before the run is declared hung.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Starts <paramref name="workers"/> workers, lets them ramp up, and returns how fast the counter
    /// grew during <paramref name="duration"/> (per second). Workers run through the window and
    /// stop after it, so the window sees steady state only.
    /// </summary>
    public static async Task<double> MeasureAsync(
        int workers, Func<LoadContext, int, Task> worker, TimeSpan ramp, TimeSpan duration, CancellationToken cancellationToken) =>
        (await MeasureWithCostAsync(workers, worker, ramp, duration, cancellationToken)).Rate;

    /// <summary>
    /// As <see cref="MeasureAsync"/>, and also what the window cost this whole process (load
    /// generator and server together when both run here): CPU time and allocated bytes per counted
    /// operation, cores kept busy, and the share of the window spent in GC pauses.
    /// </summary>
    public static async Task<Sample> MeasureWithCostAsync(
        int workers, Func<LoadContext, int, Task> worker, TimeSpan ramp, TimeSpan duration, CancellationToken cancellationToken)
    {
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        abort.CancelAfter(ramp + duration + DrainTimeout);
        var context = new LoadContext(abort.Token);
        var tasks = Enumerable.Range(0, workers).Select(i => Task.Run(() => worker(context, i), CancellationToken.None)).ToArray();
        var all = Task.WhenAll(tasks);
        try
        {
            await Task.WhenAny(all, Task.Delay(ramp, abort.Token));
            abort.Token.ThrowIfCancellationRequested();
            ThrowIfFaulted(all);
            using var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var allocated = GC.GetTotalAllocatedBytes();
            var paused = GC.GetTotalPauseDuration();
            var start = context.Count;
            var clock = Stopwatch.StartNew();
            await Task.WhenAny(all, Task.Delay(duration, abort.Token));
            var end = context.Count;
            var elapsed = clock.Elapsed;
            process.Refresh();
            var ops = Math.Max(1, end - start);
            var cpuTime = process.TotalProcessorTime - cpu;
            var sample = new Sample(
                (end - start) / elapsed.TotalSeconds,
                cpuTime.TotalMicroseconds / ops,
                (GC.GetTotalAllocatedBytes() - allocated) / (double)ops,
                cpuTime / elapsed,
                (GC.GetTotalPauseDuration() - paused) / elapsed);
            abort.Token.ThrowIfCancellationRequested();
            ThrowIfFaulted(all);
            context.Stop();
            await all.WaitAsync(abort.Token);
            return sample;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Load workers did not finish within {DrainTimeout.TotalSeconds:0}s after the run.");
        }
        finally
        {
            context.Stop();
            abort.Cancel();
            // Observe every worker so none faults unobserved.
            await Task.WhenAny(all, Task.Delay(DrainTimeout, CancellationToken.None));
        }
    }

    private static void ThrowIfFaulted(Task all)
    {
        if (all.IsFaulted)
        {
            all.GetAwaiter().GetResult();
        }
        if (all.IsCompleted)
        {
            throw new InvalidOperationException("Load workers ended before the run did.");
        }
    }
}
