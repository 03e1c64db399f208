using System.Net;
using System.Text.Json;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// GET /v1/dataplanes shows the whole fleet on every replica: each replica publishes its nodes'
/// sync status to Redis; a node that moved appears once, as its latest replica sees it; a node
/// whose replica is gone shows as DISCONNECTED.
/// </summary>
public sealed class FleetAcrossReplicasTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    // Publish fast (the default is once a second), on the system clock.
    private static readonly string[] Fast = ["--ControlPlane:Fleet:PublishInterval=00:00:00.050", "--ControlPlane:Fleet:RefreshInterval=00:00:00.200", "--ControlPlane:Fleet:StaleAfter=00:00:01"];

    private static async Task<JsonElement[]> DataplanesAsync(Replica replica) =>
        [.. (await replica.GetJsonAsync("/v1/dataplanes")).GetProperty("dataplanes").EnumerateArray()];

    private static async Task<JsonElement?> NodeAsync(Replica replica, string nodeId) =>
        (await DataplanesAsync(replica)).Cast<JsonElement?>().SingleOrDefault(d => d!.Value.GetProperty("node").GetProperty("id").GetString() == nodeId);

    [Fact]
    public async Task EveryReplica_ListsTheNodesOfEveryOther_WithTheirSyncState()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 3, clock: null, args: Fast);
        await set[0].RegisterAsync("i1", "img.a", 8081);
        var nodes = new List<FakeDeltaNode>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var node = await FakeDeltaNode.ConnectAsync(set[i].Channel, $"node-{i}");
                await node.SubscribeAsync(Endpoints, "*");
                await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 1, "img.a");
                nodes.Add(node);
            }

            foreach (var replica in set.Replicas)
            {
                await Eventually.WaitAsync($"{replica.Id} to list the three nodes, synced", async () =>
                    (await DataplanesAsync(replica)).Select(d => (d.GetProperty("node").GetProperty("id").GetString(), d.GetProperty("state").GetString(), d.GetProperty("control_plane_id").GetString()))
                        .SequenceEqual([("node-0", "SYNC_STATE_SYNCED", "cp-a"), ("node-1", "SYNC_STATE_SYNCED", "cp-b"), ("node-2", "SYNC_STATE_SYNCED", "cp-c")]));
            }
            var one = await set[0].GetJsonAsync("/v1/dataplanes/node-2");
            Assert.Equal("cp-c", one.GetProperty("dataplane").GetProperty("control_plane_id").GetString());
            await set[0].GetJsonAsync("/v1/dataplanes/node-9", HttpStatusCode.NotFound);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task ANodeThatMoved_AppearsOnce_AsItsNewReplicaSeesIt_AndOneWhoseReplicaIsGone_AsDisconnected()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 3, clock: null, args: Fast);
        var (a, b, c) = (set[0], set[1], set[2]);
        await a.RegisterAsync("i1", "img.a", 8081);
        GrpcChannel channel = a.Channel;
        await using var node = await FakeDeltaNode.ConnectAsync(() => channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await Eventually.WaitAsync("c to list node-1 on a", async () => (await NodeAsync(c, "node-1"))?.GetProperty("control_plane_id").GetString() == "cp-a");

        // The node moves to b; a's last word on it (DISCONNECTED) may come before or after b's: the newer stream wins.
        channel = b.Channel;
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "b's answer");
        await Eventually.WaitAsync("every replica to list node-1 once, connected to b", async () =>
        {
            foreach (var replica in set.Replicas)
            {
                var listed = (await DataplanesAsync(replica)).Where(d => d.GetProperty("node").GetProperty("id").GetString() == "node-1").ToArray();
                if (listed is not [var only] || only.GetProperty("control_plane_id").GetString() != "cp-b" || only.GetProperty("state").GetString() != "SYNC_STATE_SYNCED")
                {
                    return false;
                }
            }
            return true;
        });

        // b goes away without a word (its entries are no longer refreshed): DISCONNECTED, not forgotten.
        await node.CloseStreamAsync();
        await b.StopAsync();
        await Eventually.WaitAsync("c to list node-1 as disconnected", async () => (await NodeAsync(c, "node-1"))?.GetProperty("state").GetString() == "SYNC_STATE_DISCONNECTED");
    }

    [Fact]
    public async Task ANodeOfAReplicaCutOffFromRedis_IsListedStale_ByTheOthers_BeforeItAgesIntoDisconnected()
    {
        string[] slowToForget = ["--ControlPlane:Fleet:PublishInterval=00:00:00.050", "--ControlPlane:Fleet:RefreshInterval=00:00:00.200", "--ControlPlane:Fleet:StaleAfter=00:05:00"];
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: slowToForget);
        await using var relay = TcpRelay.Start(redis.Port);
        var b = set[0];
        var a = await set.AddReplicaAsync("cp-x", [.. slowToForget, $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await b.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(a.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 1, "img.a");
        await Eventually.WaitAsync("b to list node-1 synced", async () => (await NodeAsync(b, "node-1"))?.GetProperty("state").GetString() == "SYNC_STATE_SYNCED");

        // a can no longer refresh what it published: b cannot know whether node-1 still holds what the store does.
        relay.Cut();
        await b.RegisterAsync("i2", "img.a", 8082);

        await Eventually.WaitAsync("b to list node-1 as stale", async () => (await NodeAsync(b, "node-1"))?.GetProperty("state").GetString() == "SYNC_STATE_STALE");
        var listed = (await NodeAsync(b, "node-1"))!.Value;
        Assert.Equal("cp-x", listed.GetProperty("control_plane_id").GetString());
        Assert.All(listed.GetProperty("resource_types").EnumerateArray(), t => Assert.NotEqual("SYNC_STATE_SYNCED", t.GetProperty("state").GetString()));
        relay.Restore();
    }
}
