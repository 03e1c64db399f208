using ControlPlane.Api.V1;
using ControlPlane.Server.Fleet;
using ControlPlane.Server.Storage.Redis;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The shared fleet view's entries: one per node, the newest stream wins whoever writes last, and they expire.</summary>
public sealed class RedisFleetStoreTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<RedisConnection> _connections = [];

    private RedisFleetStore Store()
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        return new RedisFleetStore(connection);
    }

    private static FleetEntry Entry(string nodeId, string replica, SyncState state, DateTimeOffset openedAt, DateTimeOffset publishedAt) =>
        new(new DataplaneStatus { Node = new Node { Id = nodeId }, ControlPlaneId = replica, State = state, ConnectedSince = Timestamp.FromDateTimeOffset(openedAt) }, openedAt, publishedAt);

    [Fact]
    public async Task AnOlderStreamsStatus_WrittenLast_DoesNotReplaceTheNewerOne()
    {
        var store = Store();
        await store.PublishAsync(Entry("node-1", "cp-b", SyncState.Synced, T0.AddSeconds(10), T0.AddSeconds(10)), TimeSpan.FromMinutes(1)).DefaultTimeout();
        // cp-a noticed late that its older stream closed.
        await store.PublishAsync(Entry("node-1", "cp-a", SyncState.Disconnected, T0, T0.AddSeconds(11)), TimeSpan.FromMinutes(1)).DefaultTimeout();
        await store.PublishAsync(Entry("node-2", "cp-a", SyncState.Stale, T0, T0), TimeSpan.FromMinutes(1)).DefaultTimeout();

        var listed = await store.ListAsync().DefaultTimeout();
        Assert.Equal([("node-1", "cp-b", SyncState.Synced), ("node-2", "cp-a", SyncState.Stale)], listed.Select(e => (e.NodeId, e.Status.ControlPlaneId, e.Status.State)));
        Assert.Equal((T0.AddSeconds(10), T0.AddSeconds(10)), (listed[0].StreamOpenedAt, listed[0].PublishedAt));

        // The same stream's later status replaces it.
        await store.PublishAsync(Entry("node-1", "cp-b", SyncState.Stale, T0.AddSeconds(10), T0.AddSeconds(12)), TimeSpan.FromMinutes(1)).DefaultTimeout();
        Assert.Equal(SyncState.Stale, (await store.GetAsync("node-1").DefaultTimeout())!.Status.State);
        Assert.Null(await store.GetAsync("node-9").DefaultTimeout());
    }

    [Fact]
    public async Task EntriesExpire_AndLeaveTheListing()
    {
        var store = Store();
        await store.PublishAsync(Entry("node-1", "cp-a", SyncState.Synced, T0, T0), TimeSpan.FromMilliseconds(50)).DefaultTimeout();
        await store.PublishAsync(Entry("node-2", "cp-a", SyncState.Synced, T0, T0), TimeSpan.FromMinutes(1)).DefaultTimeout();
        // Redis' own clock expires the entry: poll.
        await Eventually.WaitAsync("node-1's entry to expire", async () => (await store.ListAsync()).Count == 1);
        Assert.Equal("node-2", (await store.ListAsync().DefaultTimeout()).Single().NodeId);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
