using System.Collections.Concurrent;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The cancellation of one upstream exchange: the client going away or the request timeout,
/// whichever comes first. Sources are pooled (reset after use), so a proxied request allocates no
/// source, timer or link of its own; a source that fired is not reused.
/// </summary>
internal sealed class UpstreamCancellation
{
    private const int MaxPooled = 1024;

    private readonly ConcurrentQueue<CancellationTokenSource> _pool = new();
    private int _pooled;

    /// <summary>A source cancelled when <paramref name="aborted"/> is, or after <paramref name="timeout"/> (infinite: never).</summary>
    public Lease Rent(CancellationToken aborted, TimeSpan timeout)
    {
        if (_pool.TryDequeue(out var source))
        {
            Interlocked.Decrement(ref _pooled);
        }
        else
        {
            source = new CancellationTokenSource();
        }
        var link = aborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), source);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            source.CancelAfter(timeout);
        }
        return new Lease(this, source, link);
    }

    private void Return(CancellationTokenSource source, CancellationTokenRegistration link)
    {
        // Disposing the link waits for a Cancel running on another thread, so none can reach the next user.
        link.Dispose();
        if (source.TryReset())
        {
            if (Interlocked.Increment(ref _pooled) <= MaxPooled)
            {
                _pool.Enqueue(source);
                return;
            }
            Interlocked.Decrement(ref _pooled);
        }
        source.Dispose();
    }

    /// <summary>One exchange's use of a source; disposing it gives the source back.</summary>
    public readonly struct Lease(UpstreamCancellation owner, CancellationTokenSource source, CancellationTokenRegistration link) : IDisposable
    {
        public CancellationToken Token => source.Token;

        public bool IsCancellationRequested => source.IsCancellationRequested;

        /// <summary>Stops the timeout (the exchange goes on, only the client's abort cancels it now).</summary>
        public void StopTimeout() => source.CancelAfter(Timeout.InfiniteTimeSpan);

        public void Dispose() => owner.Return(source, link);
    }
}
