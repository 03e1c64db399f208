namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// One side of the fan-out benchmark: a server that pushes one change to many watchers (etcd's
/// watch, the control plane's discovery streams), driven through its own gRPC API from this process.
/// The benchmark creates a fresh target per watcher count, starts it, then asks it for one change at
/// a time, alternating between targets; it disposes the target at the end of that count.
/// </summary>
internal interface IFanoutTarget : IAsyncDisposable
{
    /// <summary>The column heading in the report ("control plane", "etcd").</summary>
    string Name { get; }

    /// <summary>One sentence for the report: what runs, which version, how it is set up.</summary>
    string Description { get; }

    /// <summary>
    /// Starts the server; measures its memory with no watchers; opens <paramref name="watchers"/>
    /// watch streams (one watcher each, all on the same resource), spread over the benchmark's
    /// HTTP/2 connections; waits until every stream holds the current state (etcd: the watch is
    /// created; control plane: the first response is received and acknowledged); then, once they are
    /// idle, measures the memory again into <see cref="Memory"/>.
    /// </summary>
    Task StartAsync(int watchers, CancellationToken cancellationToken);

    /// <summary>
    /// Memory per idle watcher, filled by <see cref="StartAsync"/>. The first entry is the one
    /// compared between targets; more entries are other views of the same memory, reported beside it.
    /// </summary>
    IReadOnlyList<IdleMemory> Memory { get; }

    /// <summary>
    /// Makes one change (etcd: one Put of the watched key; control plane: one registration in the
    /// watched image) and returns, for every watcher, the time from just before the change was sent
    /// to the moment this process received it on that watcher's stream. Throws if a watcher does not
    /// receive it within the benchmark's timeout, receives it twice, or receives anything else.
    /// </summary>
    Task<FanoutChange> MeasureOneChangeAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A server's memory with no watchers, with the first half of the watchers open (<paramref name="Middle"/>)
/// and with all of them, idle, by one <paramref name="Method"/> (e.g. "etcd's resident set (VmRSS)",
/// "the server's managed heap after a full GC").
/// </summary>
internal sealed record IdleMemory(string Method, long Before, long Middle, long After, int Watchers)
{
    /// <summary>Everything the watchers added, spread over them: one-off costs (code compiled on first use, grown thread and buffer pools) included.</summary>
    public double BytesPerWatcher => (After - Before) / (double)Watchers;

    /// <summary>What one more idle watcher costs: the second half's growth over its watchers, after the one-off costs were paid by the first.</summary>
    public double MarginalBytesPerWatcher => (After - Middle) / (double)(Watchers - Watchers / 2);
}

/// <summary>
/// One change seen by every watcher: per watcher, from just before the change was sent to its
/// receipt (in watcher order); when the writer's call was answered (the Put, the registration); and,
/// when the server runs in a process of its own, the CPU time that process spent until every watcher
/// had the change.
/// </summary>
internal sealed record FanoutChange(TimeSpan[] Converged, TimeSpan WriteAnswered, TimeSpan? ServerCpu = null);
