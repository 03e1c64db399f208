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
/// Group commit: callers add their work to the open batch and wait for it; one write at a time
/// takes the open batch and writes it. A lone caller's work is written at once (no timer), and while
/// a write is in flight the next batch grows with the load, so the writes per second stay few and
/// their cost per item falls as the load rises. Every caller is answered from the batch it joined,
/// after that batch is written (or with its error).
/// </summary>
internal sealed class GroupCommit<TBatch> where TBatch : GroupBatch
{
    private readonly Lock _lock = new();
    private readonly Func<TBatch> _create;
    private readonly Func<TBatch, Task> _write;
    private TBatch _open;
    private bool _writing;

    public GroupCommit(Func<TBatch> create, Func<TBatch, Task> write)
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(write);
        _create = create;
        _write = write;
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
            start = !_writing;
            _writing = true;
        }
        if (start)
        {
            _ = WriteAsync();
        }
        return batch;
    }

    /// <summary>Writes batches until none is waiting; the only writer while <see cref="_writing"/> is set.</summary>
    private async Task WriteAsync()
    {
        while (true)
        {
            TBatch batch;
            lock (_lock)
            {
                if (_open.Count == 0)
                {
                    _writing = false;
                    return;
                }
                batch = _open;
                _open = _create();
            }
            try
            {
                await _write(batch).ConfigureAwait(false);
                batch.Complete(null);
            }
            catch (Exception ex)
            {
                batch.Complete(ex);
            }
        }
    }
}
