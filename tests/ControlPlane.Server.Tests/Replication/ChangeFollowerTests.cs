using System.Diagnostics.Metrics;
using ControlPlane.Server.Replication;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// The change follower against a feed the test drives: change messages and log reads arrive on
/// different connections, so a message newer than a read may be applied while the read's answer is
/// still on its way.
/// </summary>
public sealed class ChangeFollowerTests
{
    [Fact]
    public async Task AMessageAppliedWhileACatchUpReadWasOnItsWay_IsNotTakenForAStoreThatWentBack()
    {
        var feed = new DrivenFeed();
        var changes = new ResourceChanges();
        var resets = 0;
        var changed = new List<string>();
        changes.Reset += () => Interlocked.Increment(ref resets);
        changes.Changed += (_, name, _) => { lock (changed) { changed.Add(name); } };
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var follower = new ChangeFollower(feed, changes, new ReplicationOptions(), new ManualTimeProvider(), new ReplicationMetrics(services.GetRequiredService<IMeterFactory>()), NullLogger<ChangeFollower>.Instance);
        await follower.StartAsync(CancellationToken.None);

        // In step at revision 2 (the first read: everything loaded once).
        (await feed.NextReadAsync()).Answer(current: 2);
        await Eventually.WaitAsync("in step at 2", () => follower.AppliedRevision == 2);
        Assert.Equal(1, resets);

        // A catch-up reads the store at revision 2; before its answer arrives, the message of revision 3 is applied.
        follower.RequestCatchUp();
        var read = await feed.NextReadAsync();
        Assert.Equal(2, read.After);
        feed.Deliver(new StoreChange(3, StoreChange.Endpoints, "img.c"));
        Assert.Equal(3, follower.AppliedRevision);
        read.Answer(current: 2);

        // One read at a time: the next one is sent once that answer was handled. Nothing went back:
        // no reload, revision 3 stays applied, and the next message follows on.
        follower.RequestCatchUp();
        var next = await feed.NextReadAsync();
        Assert.Equal(3, next.After);
        Assert.Equal(1, resets);
        next.Answer(current: 3);
        feed.Deliver(new StoreChange(4, StoreChange.Endpoints, "img.d"));
        Assert.Equal(4, follower.AppliedRevision);
        Assert.Equal(1, resets);
        lock (changed)
        {
            Assert.Equal(["img.c", "img.d"], changed);
        }
        await follower.StopAsync(CancellationToken.None).DefaultTimeout();
    }

    /// <summary>A feed whose messages the test delivers and whose log reads the test answers, one at a time.</summary>
    private sealed class DrivenFeed : IChangeFeed
    {
        private readonly System.Threading.Channels.Channel<PendingRead> _reads = System.Threading.Channels.Channel.CreateUnbounded<PendingRead>();
        private Action<StoreChange>? _onChange;

        public IDisposable Subscribe(Action<StoreChange> onChange, Action onReconnected)
        {
            _onChange = onChange;
            return new CancellationTokenSource();
        }

        public void Deliver(StoreChange change) => _onChange!(change);

        public ValueTask<ChangeLogRead> ReadSinceAsync(long afterRevision, int limit, CancellationToken cancellationToken = default)
        {
            var read = new PendingRead(afterRevision);
            _reads.Writer.TryWrite(read);
            return new ValueTask<ChangeLogRead>(read.Result.WaitAsync(cancellationToken));
        }

        public ValueTask<StorePosition?> ReadPositionAsync(CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("the follower reads the log, not the position");

        public async Task<PendingRead> NextReadAsync() => await _reads.Reader.ReadAsync().AsTask().DefaultTimeout();
    }

    private sealed class PendingRead(long after)
    {
        private readonly TaskCompletionSource<ChangeLogRead> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long After => after;

        public Task<ChangeLogRead> Result => _result.Task;

        /// <summary>The store's log at revision <paramref name="current"/>, every revision still in it, none after the one asked for.</summary>
        public void Answer(long current) => _result.SetResult(new ChangeLogRead("epoch-1", "server-1", current, Oldest: 1, Changes: []));
    }
}
