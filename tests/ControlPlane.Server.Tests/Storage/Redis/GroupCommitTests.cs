using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The group commit under the Redis store's registrations and renewals: one write at a time, batches that grow while one is in flight.</summary>
public sealed class GroupCommitTests
{
    private sealed class Batch : GroupBatch
    {
        public List<int> Items { get; } = [];

        public override int Count => Items.Count;
    }

    /// <summary>A writer whose writes finish when the test says so.</summary>
    private sealed class Writer
    {
        private readonly Lock _lock = new();
        private readonly List<(Batch Batch, TaskCompletionSource Done)> _writes = [];
        private readonly SemaphoreSlim _started = new(0);

        public int Concurrent { get; private set; }

        public int MostConcurrent { get; private set; }

        public Task WriteAsync(Batch batch)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lock)
            {
                _writes.Add((batch, done));
                MostConcurrent = Math.Max(MostConcurrent, ++Concurrent);
            }
            _started.Release();
            return done.Task.ContinueWith(t =>
            {
                lock (_lock)
                {
                    Concurrent--;
                }
                t.GetAwaiter().GetResult();
            }, TaskScheduler.Default);
        }

        /// <summary>Waits for write number <paramref name="index"/> (from 0) to start; returns its batch and its completion.</summary>
        public async Task<(Batch Batch, TaskCompletionSource Done)> StartedAsync(int index)
        {
            await _started.WaitAsync().DefaultTimeout();
            lock (_lock)
            {
                return _writes[index];
            }
        }
    }

    [Fact]
    public async Task ALoneItem_IsWrittenAtOnce_AndItemsAddedDuringAWrite_GoInTheNextOne()
    {
        var writer = new Writer();
        var commit = new GroupCommit<Batch>(() => new Batch(), writer.WriteAsync);

        var first = commit.Add(1, static (b, i) => b.Items.Add(i));
        var (written, done) = await writer.StartedAsync(0);
        Assert.Same(first, written);
        Assert.Equal([1], written.Items);

        // While the first write is in flight, the next batch grows.
        var later = Enumerable.Range(2, 5).Select(i => commit.Add(i, static (b, i) => b.Items.Add(i))).ToArray();
        Assert.All(later, b => Assert.Same(later[0], b));
        Assert.False(later[0].Written.IsCompleted);
        done.SetResult();
        await first.Written.DefaultTimeout();

        var (second, secondDone) = await writer.StartedAsync(1);
        Assert.Same(later[0], second);
        Assert.Equal([2, 3, 4, 5, 6], second.Items);
        secondDone.SetResult();
        await second.Written.DefaultTimeout();
        Assert.Equal(1, writer.MostConcurrent);
    }

    [Fact]
    public async Task WithTwoWritesAllowed_ASecondStartsWhileTheFirstIsInFlight_AndAThirdBatchWaitsForOne()
    {
        var writer = new Writer();
        var commit = new GroupCommit<Batch>(() => new Batch(), writer.WriteAsync, maxWrites: 2);

        var first = commit.Add(1, static (b, i) => b.Items.Add(i));
        var (_, firstDone) = await writer.StartedAsync(0);
        var second = commit.Add(2, static (b, i) => b.Items.Add(i));
        var (secondBatch, secondDone) = await writer.StartedAsync(1);
        Assert.Same(second, secondBatch);
        var third = commit.Add(3, static (b, i) => b.Items.Add(i));
        var fourth = commit.Add(4, static (b, i) => b.Items.Add(i));
        Assert.Same(third, fourth);
        Assert.Equal(2, writer.Concurrent);

        secondDone.SetResult();
        await second.Written.DefaultTimeout();
        var (thirdBatch, thirdDone) = await writer.StartedAsync(2);
        Assert.Equal([3, 4], thirdBatch.Items);
        firstDone.SetResult();
        thirdDone.SetResult();
        await Task.WhenAll(first.Written, third.Written).DefaultTimeout();
        Assert.Equal(2, writer.MostConcurrent);
    }

    [Fact]
    public async Task AFailedWrite_FailsEveryoneWaitingOnIt_AndTheNextBatchIsStillWritten()
    {
        var writer = new Writer();
        var commit = new GroupCommit<Batch>(() => new Batch(), writer.WriteAsync);

        var first = commit.Add(1, static (b, i) => b.Items.Add(i));
        var (_, done) = await writer.StartedAsync(0);
        var second = commit.Add(2, static (b, i) => b.Items.Add(i));
        done.SetException(new InvalidOperationException("store down"));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => first.Written).DefaultTimeout();
        Assert.Equal("store down", error.Message);
        var (next, nextDone) = await writer.StartedAsync(1);
        Assert.Same(second, next);
        nextDone.SetResult();
        await second.Written.DefaultTimeout();
    }
}
