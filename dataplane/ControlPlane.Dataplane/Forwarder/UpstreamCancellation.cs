using System.Collections.Concurrent;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Hands out the <see cref="UpstreamTimeout"/> of each upstream exchange. They are pooled (reset
/// after use), so a proxied request allocates no source, timer or link of its own; one whose
/// source fired is not reused.
/// </summary>
internal sealed class UpstreamCancellation(TimeProvider time)
{
    private const int MaxPooled = 1024;

    private readonly ConcurrentQueue<UpstreamTimeout> _pool = new();
    private int _pooled;

    /// <summary>
    /// Cancelled when <paramref name="aborted"/> is, or when the instance keeps the exchange waiting
    /// <paramref name="timeout"/> (infinite: never); its clock starts now.
    /// </summary>
    public UpstreamTimeout Rent(CancellationToken aborted, TimeSpan timeout)
    {
        if (_pool.TryDequeue(out var pooled))
        {
            Interlocked.Decrement(ref _pooled);
        }
        var exchange = pooled ?? new UpstreamTimeout(this, time);
        exchange.Start(aborted, timeout);
        return exchange;
    }

    internal void Return(UpstreamTimeout exchange)
    {
        if (!exchange.TryReset())
        {
            return;
        }
        if (Interlocked.Increment(ref _pooled) <= MaxPooled)
        {
            _pool.Enqueue(exchange);
            return;
        }
        Interlocked.Decrement(ref _pooled);
        exchange.Discard();
    }
}
