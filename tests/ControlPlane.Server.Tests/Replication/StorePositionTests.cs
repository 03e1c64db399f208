using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// A node never goes back in time by changing replicas: every response says where in the store's
/// change sequence its configuration stands, the node sends the last one it accepted when it
/// reconnects, and a replica behind it (cut off from Redis, or not caught up) refuses the stream
/// with UNAVAILABLE replica_behind instead of sending older configuration.
/// </summary>
public sealed class StorePositionTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> Delta =
        new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    private static readonly string[] QuickTimeout = ["--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500", "--ControlPlane:Replication:HandOffNodesAfter=00:00:00"];

    [Fact]
    public async Task AReplicaCutOffFromRedis_RefusesANodeHoldingNewerConfiguration_AtOnce_AndServesItOnceBack()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: QuickTimeout);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        // A long BehindWait: a refusal within the test's timeout shows that b did not wait for it.
        var b = await set.AddReplicaAsync("cp-b", [.. QuickTimeout, "--ControlPlane:Discovery:BehindWait=00:05:00", $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(a.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a on a");
        var before = node.Received[^1].StorePosition;
        Assert.True(StorePosition.TryParse(before, out var p1), before);
        await Eventually.WaitAsync("b to hold what a holds", () => b.Cache.Position is { } x && !x.IsBehind(p1));

        relay.Cut();
        await a.RegisterAsync("i2", "img.a", 8082);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "i2 on a");
        var newer = node.Received[^1].StorePosition;
        Assert.True(StorePosition.TryParse(newer, out var p2) && p1.IsBehind(p2), $"{before} then {newer}");
        var store = b.Services.GetRequiredService<IRegistryStore>();
        await Eventually.WaitAsync("b to notice it cannot reach Redis", () => store.KnownUnreachable);
        var held = b.Cache.Position!.Value;
        Assert.True(held.IsBehind(p2), $"b at {held}, the node at {newer}");

        var refused = await Assert.ThrowsAsync<RpcException>(() => FirstResponseAsync(b, newer));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Equal("replica_behind", refused.Status.Reason());
        Assert.Contains(newer, refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(held.ToString(), refused.Status.Detail, StringComparison.Ordinal);
        Assert.Single(b.LogsOf(4017));

        // What b holds, or no position at all (a fresh node), is served from memory as before.
        Assert.Equal(held.ToString(), (await FirstResponseAsync(b, held.ToString())).StorePosition);
        var fresh = await FirstResponseAsync(b, "");
        Assert.Equal(held.ToString(), fresh.StorePosition);
        Assert.Equal(["img.a"], fresh.Resources.Select(r => r.Name));
        Assert.Single(EndpointSet.Parser.ParseFrom(fresh.Resources.Single().Resource_.Value).Endpoints);

        relay.Restore();
        await Eventually.WaitAsync("b to reach Redis again", () => !store.KnownUnreachable);
        var caughtUp = await FirstResponseAsync(b, newer);
        Assert.True(StorePosition.TryParse(caughtUp.StorePosition, out var p3) && !p3.IsBehind(p2), caughtUp.StorePosition);
        Assert.Equal(2, EndpointSet.Parser.ParseFrom(caughtUp.Resources.Single().Resource_.Value).Endpoints.Count);
    }

    [Fact]
    public async Task ANodeRefusedByAReplica_IsListedThereWithWhy_UnlessAnotherReplicaServesIt()
    {
        await using var redis = await RedisServer.StartAsync();
        string[] args = [.. QuickTimeout, "--ControlPlane:Fleet:PublishInterval=00:00:00.050", "--ControlPlane:Fleet:RefreshInterval=00:00:00.200"];
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: args);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        var b = await set.AddReplicaAsync("cp-b", [.. args, "--ControlPlane:Discovery:BehindWait=00:05:00", $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(a.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a on a");
        // Listed by b before the cut: while cut off, b lists the other replicas' nodes as it last read them.
        await Eventually.WaitAsync("b to list node-1 on a", async () =>
            (await b.GetJsonAsync("/v1/dataplanes")).GetProperty("dataplanes").EnumerateArray().Any(d => d.GetProperty("control_plane_id").GetString() == "cp-a"));

        relay.Cut();
        await a.RegisterAsync("i2", "img.a", 8082);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "i2 on a");
        var newer = node.Received[^1].StorePosition;
        var store = b.Services.GetRequiredService<IRegistryStore>();
        await Eventually.WaitAsync("b to notice it cannot reach Redis", () => store.KnownUnreachable);

        // A node no replica serves, refused by b: b lists it, DISCONNECTED, with why and when.
        await Assert.ThrowsAsync<RpcException>(() => FirstResponseAsync(b, newer, "edge-9"));
        var listed = (await b.GetJsonAsync("/v1/dataplanes/edge-9")).GetProperty("dataplane");
        Assert.Equal("SYNC_STATE_DISCONNECTED", listed.GetProperty("state").GetString());
        Assert.Equal(14, listed.GetProperty("refusal").GetProperty("code").GetInt32());
        Assert.Contains(newer, listed.GetProperty("refusal").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("replica_behind", listed.GetProperty("refusal").GetProperty("details")[0].GetProperty("reason").GetString());
        Assert.True(listed.TryGetProperty("refused_at", out _));
        var all = (await b.GetJsonAsync("/v1/dataplanes")).GetProperty("dataplanes").EnumerateArray().Select(d => d.GetProperty("node").GetProperty("id").GetString());
        Assert.Equal(["edge-9", "node-1"], all);

        // node-1 tries b too (a second stream, as a node testing its failover would): a serves it, so b lists it as a has it.
        await Assert.ThrowsAsync<RpcException>(() => FirstResponseAsync(b, newer, "node-1"));
        var served = (await b.GetJsonAsync("/v1/dataplanes/node-1")).GetProperty("dataplane");
        Assert.Equal("cp-a", served.GetProperty("control_plane_id").GetString());
        Assert.False(served.TryGetProperty("refusal", out _));
    }

    [Fact]
    public async Task WatchersAreToldOfAChange_OnceThePositionCarriesIt()
    {
        // A response built for a change says where the change stands in the store: never the position
        // before it, nor none at all (the node would keep no position to fail over with).
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1);
        var a = set[0];
        var told = new List<(string Position, bool HasImage)>();
        using var watch = a.Cache.Watch(_ =>
        {
            lock (told)
            {
                told.Add((a.Cache.PositionText, a.Cache.Snapshot(Endpoints).Find("img.a") is not null));
            }
        });

        await a.RegisterAsync("i1", "img.a", 8081);
        var written = await set.RevisionAsync();
        (string Position, bool HasImage) first = default;
        await Eventually.WaitAsync("a watcher told of img.a", () =>
        {
            lock (told)
            {
                first = told.FirstOrDefault(t => t.HasImage);
                return first.HasImage;
            }
        });
        Assert.True(StorePosition.TryParse(first.Position, out var at), $"'{first.Position}'");
        Assert.True(at.Revision >= written, $"told of img.a at {first.Position}, written at revision {written}");
    }

    [Fact]
    public async Task ANodeHoldingAWriteMadeThroughItsOwnReplica_IsRefusedByAReplicaThatNeverSawIt()
    {
        // The replica a write goes through loads it at once, before the store's message about it comes
        // back; the position the node is sent must cover it all the same, or a replica that never saw the
        // write passes the node's check and tells it to remove what it holds.
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: QuickTimeout);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        var b = await set.AddReplicaAsync("cp-b", [.. QuickTimeout, $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await Eventually.WaitAsync("b in step with the store", async () => b.Cache.Position?.Revision == await set.RevisionAsync());
        relay.Cut();
        var store = b.Services.GetRequiredService<IRegistryStore>();
        await Eventually.WaitAsync("b to notice it cannot reach Redis", () => store.KnownUnreachable);

        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(a.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a on a");
        var held = node.Received[^1].StorePosition;

        var refused = await Assert.ThrowsAsync<RpcException>(() => FirstResponseAsync(b, held));
        Assert.Equal("replica_behind", refused.Status.Reason());
        Assert.Null(b.EndpointsOf("img.a"));
    }

    [Fact]
    public async Task AStoreRestoredFromAnOlderCopy_IsWhereReplicasStandAfterwards_SoFailoverIsAtOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: ["--ControlPlane:Discovery:BehindWait=00:01:00"]);
        var a = set[0];
        await a.RegisterAsync("i1", "img.a", 8081);
        await Eventually.WaitAsync("a in step with the store", async () => a.Cache.Position?.Revision == await set.RevisionAsync());
        await set.Database.ExecuteAsync("SAVE").DefaultTimeout();
        for (var i = 2; i <= 6; i++)
        {
            await a.RegisterAsync("i" + i, "img.a", 8080 + i);
        }
        await Eventually.WaitAsync("a in step again", async () => a.Cache.Position?.Revision == await set.RevisionAsync());
        var before = a.Cache.Position!.Value;

        // Redis restarts from the copy saved at i1: the same epoch, revisions counted again from there.
        await redis.StopAsync();
        await redis.StartAsync();
        await Eventually.WaitAsync("the test's own connection to be back", async () =>
        {
            try
            {
                await set.Database.PingAsync();
                return true;
            }
            catch (StackExchange.Redis.RedisConnectionException)
            {
                return false;
            }
        });
        await a.WaitForCacheAsync(c => Discovery.DiscoveryHost.EndpointsOf(c, "img.a")?.Endpoints.Count == 1, "img.a back to i1 alone");
        await Eventually.WaitAsync("a to stand where the store does", async () => a.Cache.Position?.Revision == await set.RevisionAsync());
        Assert.True(a.Cache.Position!.Value.IsBehind(before), $"{a.Cache.Position} after {before}");

        // A node that connects now is told where the store stands, and another replica serves it at once.
        var fresh = await FirstResponseAsync(a, "");
        Assert.Equal(a.Cache.Position.ToString(), fresh.StorePosition);
        var c = await set.AddReplicaAsync("cp-c");
        await Eventually.WaitAsync("c in step with the store", async () => c.Cache.Position?.Revision == await set.RevisionAsync());
        var onC = await FirstResponseAsync(c, fresh.StorePosition);
        Assert.Single(EndpointSet.Parser.ParseFrom(onC.Resources.Single().Resource_.Value).Endpoints);
        Assert.Empty(c.LogsOf(4019)); // served without waiting
    }

    [Fact]
    public async Task AReplicaInContactButBehind_WaitsForTheChange_InsteadOfRefusing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: ["--ControlPlane:Discovery:BehindWait=00:01:00"]);
        var a = set[0];
        await a.RegisterAsync("i1", "img.a", 8081);
        await a.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        // The position advances once the load that published img.a is done.
        await Eventually.WaitAsync("a to be in step with the store", async () => a.Cache.Position?.Revision == await set.RevisionAsync());
        var now = a.Cache.Position!.Value;
        var next = now with { Revision = now.Revision + 1 };

        // A node holding the next change (as another replica may have sent it) waits for a to load it.
        var answer = FirstResponseAsync(a, next.ToString());
        await Eventually.WaitAsync("a to wait for the node's position", () => a.LogsOf(4019).Count == 1);
        Assert.False(answer.IsCompleted);
        await a.RegisterAsync("i2", "img.a", 8082);
        var response = await answer;
        Assert.True(StorePosition.TryParse(response.StorePosition, out var served) && !served.IsBehind(next), response.StorePosition);
        Assert.Equal(2, EndpointSet.Parser.ParseFrom(response.Resources.Single().Resource_.Value).Endpoints.Count);
    }

    [Fact]
    public async Task ANodeAheadOfTheStoreItself_IsServedTheStoresConfiguration_AfterTheWait()
    {
        // Redis restored from an older backup: no replica will ever reach the node's position.
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: ["--ControlPlane:Discovery:BehindWait=00:00:00.300"]);
        var a = set[0];
        await a.RegisterAsync("i1", "img.a", 8081);
        await a.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        // The position advances once the load that published img.a is done.
        await Eventually.WaitAsync("a to be in step with the store", async () => a.Cache.Position?.Revision == await set.RevisionAsync());
        var now = a.Cache.Position!.Value;

        var response = await FirstResponseAsync(a, (now with { Revision = now.Revision + 1000 }).ToString());

        Assert.True(StorePosition.TryParse(response.StorePosition, out var served) && !served.IsBehind(now), response.StorePosition);
        Assert.Equal(["img.a"], response.Resources.Select(r => r.Name));
        Assert.Single(a.LogsOf(4018));
    }

    [Fact]
    public async Task AMalformedStorePosition_IsInvalidArgument()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1);
        foreach (var bad in new[] { "no-colon", "epoch:-1", "epoch:1x", ":5", "ep och:5", new string('9', 65) + ":1" })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => FirstResponseAsync(set[0], bad));
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            Assert.Equal("store_position", Assert.Single(ex.Status.FieldViolations()).Field);
        }
    }

    /// <summary>Opens a delta stream on <paramref name="replica"/> holding <paramref name="position"/>, subscribed to every endpoint set; its first response.</summary>
    private static async Task<DeltaResourcesResponse> FirstResponseAsync(Replica replica, string position, string? nodeId = null)
    {
        using var call = replica.Channel.AsyncDuplexStreamingCall(Delta, new CallOptions());
        await call.RequestStream.WriteAsync(new DeltaResourcesRequest
        {
            Node = new Node { Id = nodeId ?? "probe-" + Guid.NewGuid().ToString("N")[..8] },
            TypeUrl = Endpoints,
            StorePosition = position,
        }).DefaultTimeout();
        if (!await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            throw new RpcException(call.GetStatus());
        }
        return call.ResponseStream.Current;
    }
}
