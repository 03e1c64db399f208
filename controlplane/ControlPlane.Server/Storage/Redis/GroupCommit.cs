namespace ControlPlane.Server.Storage.Redis;

/// <summary>Work that callers added and wait on until <see cref="GroupCommit{TBatch}"/> has written it.</summary>
internal abstract class GroupBatch
{
    private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Items added (a batch of none is not written).</summary>
    public abstract int Count { get; }

    /// <summary>Completes when the batch is written, or fails with the write's error.</summary>
    public Task Written => _written.Task;

    public void Complete(Exception? error)
    {
        if (error is null)
        {
            _written.SetResult();
        }
        else
        {
            _written.SetException(error);
        }
    }
}

/// <summary>
/// Group commit: callers add their work to the open batch and wait for it; a writer takes the open
/// batch and writes it, at most <c>maxWrites</c> at a time. A lone caller's work is written at once
/// (no timer), and while writes are in flight the next batch grows with the load, so the writes per
/// second stay few and their cost per item falls as the load rises. Every caller is answered from
/// the batch it joined, after that batch is written (or with its error). Batches are handed to the
/// write function in the order they were opened; with more than one write in flight, the write
/// function must send them in that order (one Redis connection then applies them in order).
/// </summary>
internal sealed class GroupCommit<TBatch> where TBatch : GroupBatch
{
    private readonly Lock _lock = new();
    private readonly Lock _sendLock = new();
    private readonly Func<TBatch> _create;
    private readonly Func<TBatch, Task> _write;
    private readonly int _maxWrites;
    private TBatch _open;
    private int _writers;

    public GroupCommit(Func<TBatch> create, Func<TBatch, Task> write, int maxWrites = 1)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(write);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxWrites);
        _create = create;
        _write = write;
        _maxWrites = maxWrites;
        _open = create();
    }

    /// <summary>Runs <paramref name="add"/> on the open batch (under the lock) and returns that batch, to wait on its <see cref="GroupBatch.Written"/>.</summary>
    public TBatch Add<TState>(TState state, Action<TBatch, TState> add)
    {
        ArgumentNullException.ThrowIfNull(add);
        TBatch batch;
        bool start;
        lock (_lock)
        {
            batch = _open;
            add(batch, state);
            start = _writers < _maxWrites;
            if (start)
            {
                _writers++;
            }
        }
        if (start)
        {
            _ = WriteAsync();
        }
        return batch;
    }

    /// <summary>One writer: writes batches until none is waiting (at most <see cref="_maxWrites"/> run).</summary>
    private async Task WriteAsync()
    {
        while (true)
        {
            TBatch batch;
            Task write;
            // Writers take and send batches one at a time (callers adding work take only _lock), so
            // batches are sent in the order they were opened; the write function returns at its first
            // wait, once it has sent.
            lock (_sendLock)
            {
                lock (_lock)
                {
                    if (_open.Count == 0)
                    {
                        _writers--;
                        return;
                    }
                    batch = _open;
                    _open = _create();
                }
                write = _write(batch);
            }
            try
            {
                await write.ConfigureAwait(false);
                batch.Complete(null);
            }
            catch (Exception ex)
            {
                batch.Complete(ex);
            }
        }
    }
}
