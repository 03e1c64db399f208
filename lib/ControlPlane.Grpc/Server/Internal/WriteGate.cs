namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// Mutual exclusion, across awaits, of one call's response writes: the handler's messages and the
/// status, which the deadline timer may send at any moment. A benaphore: <see cref="_count"/> counts
/// the callers inside or waiting, so an uncontended enter and exit are one interlocked operation
/// each (SemaphoreSlim(1, 1) takes a Monitor lock in both, which the benchmark measured at 15-20%
/// of a streamed message's cost: docs/benchmarks.md). Only contention touches the semaphore, and
/// each exit that leaves a caller waiting hands the gate to exactly one of them.
/// </summary>
internal sealed class WriteGate
{
    private int _count;
    private SemaphoreSlim? _handOver;

    private SemaphoreSlim HandOver => LazyInitializer.EnsureInitialized(ref _handOver, static () => new SemaphoreSlim(0));

    public Task EnterAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }
        return Interlocked.Increment(ref _count) == 1 ? Task.CompletedTask : WaitAsync(cancellationToken);
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _count) > 0)
        {
            HandOver.Release();
        }
    }

    private async Task WaitAsync(CancellationToken cancellationToken)
    {
        // The wait itself is not cancellable: a waiter that left would strand the hand-over meant
        // for it. A cancelled waiter takes its turn, then passes it on and throws.
        await HandOver.WaitAsync().ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            Exit();
            throw new OperationCanceledException(cancellationToken);
        }
    }
}
