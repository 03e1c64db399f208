using ControlPlane.Api.V1;
using ControlPlane.Sdk.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// Two replicas on one redis-server, the first cut off from it (a TCP relay between them stops
/// carrying bytes): it answers reads from memory, marked x-platform-last-contact. A client with both
/// addresses asks the other replica once, gets the store's current answer, and stays there; with
/// the store down for every replica, it gets the marked answer rather than none.
/// </summary>
public sealed class StaleReadTests
{
    private static string[] Replica(string id, int redisPort) =>
    [
        "--ControlPlane:Store:Kind=redis", $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{redisPort}/0", "--ControlPlane:Store:Redis:KeyPrefix=stale:",
        "--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500", $"--ControlPlane:Discovery:ControlPlaneId={id}",
    ];

    [Fact]
    public async Task WhatTheFreshReplicaAnswers_Stands_AnErrorFromMemoryIsAskedOfIt_AndItsNotFoundIsNotHiddenByMemory()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = TcpRelay.Start(redis.Port);
        await using var cutOff = await TestControlPlane.StartAsync(args: Replica("cp-a", relay.Port));
        await using var inContact = await TestControlPlane.StartAsync(args: Replica("cp-b", redis.Port));
        using var other = inContact.CreateClient();
        await other.Registry.RegisterAsync(TypedCallTests.Instance("gone", 9402)).DefaultTimeout();
        var cutOffStore = cutOff.Services.GetRequiredService<Server.Storage.IRegistryStore>();
        await Eventually.WaitAsync("cp-a to hold 'gone'", async () => (await cutOffStore.GetAsync("gone")) is not null);

        relay.Cut();
        await other.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "gone" }).DefaultTimeout();
        await other.Registry.RegisterAsync(TypedCallTests.Instance("new", 9403)).DefaultTimeout();
        await Eventually.WaitAsync("cp-a to answer from memory", () => cutOffStore.KnownUnreachable);

        // cp-a's memory still has 'gone'; cp-b's NOT_FOUND is the answer.
        using (var client = cutOff.CreateClient(options => options.Addresses.Add(inContact.Grpc)))
        {
            var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "gone" })).DefaultTimeout();
            Assert.Equal(ControlPlane.Grpc.StatusCode.NotFound, ex.StatusCode);
        }
        // cp-a's memory has no 'new' (NOT_FOUND, marked): cp-b has it.
        using (var client = cutOff.CreateClient(options => options.Addresses.Add(inContact.Grpc)))
        {
            var answer = await client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "new" }).DefaultTimeout();
            Assert.Equal("new", answer.Instance.InstanceId);
            Assert.Equal(inContact.Grpc, client.Invoker.CurrentAddress);
        }
    }

    [Fact]
    public async Task AReadThatTimesOutOnAReplicaJustCutOff_IsAskedOfTheNext()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = TcpRelay.Start(redis.Port);
        // cp-a waits 5 s on a Redis it cannot reach before it knows; the client's attempts last 1 s.
        string[] slow = [.. Replica("cp-a", relay.Port).Where(a => !a.Contains("CommandTimeout", StringComparison.Ordinal)), "--ControlPlane:Store:Redis:CommandTimeout=00:00:05"];
        await using var cutOff = await TestControlPlane.StartAsync(args: slow);
        await using var inContact = await TestControlPlane.StartAsync(args: Replica("cp-b", redis.Port));
        using var client = cutOff.CreateClient(options =>
        {
            options.Addresses.Add(inContact.Grpc);
            options.Timeout = TimeSpan.FromSeconds(1);
        });
        await client.Registry.RegisterAsync(TypedCallTests.Instance("t1", 9404)).DefaultTimeout();

        relay.Cut();
        var answer = await client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "t1" }).DefaultTimeout();

        Assert.Equal("t1", answer.Instance.InstanceId);
        Assert.Equal(inContact.Grpc, client.Invoker.CurrentAddress);
    }

    [Fact]
    public async Task AReadAnsweredFromMemory_WhenEveryReplicaIsCutOff_IsReturned()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await TestControlPlane.StartAsync(args: Replica("cp-a", redis.Port));
        await using var b = await TestControlPlane.StartAsync(args: Replica("cp-b", redis.Port));
        using var client = a.CreateClient(options => options.Addresses.Add(b.Grpc));
        await client.Registry.RegisterAsync(TypedCallTests.Instance("s1", 9401)).DefaultTimeout();
        foreach (var replica in new[] { a, b })
        {
            // Ready: its cache has read the whole registry once, which it answers from when Redis is gone (a
            // replica whose first read failed, on a busy machine, retries it a second later, and until then
            // refuses reads with UNAVAILABLE, so the client would rightly ask it again).
            await WaitReadyAsync(replica);
            await Eventually.WaitAsync("the replica to hold s1", async () => (await replica.Services.GetRequiredService<Server.Storage.IRegistryStore>().GetAsync("s1")) is not null);
        }

        redis.Pause();
        try
        {
            foreach (var replica in new[] { a, b })
            {
                await Eventually.WaitAsync("the replica to know Redis is down", () => replica.Services.GetRequiredService<Server.Storage.IRegistryStore>().KnownUnreachable);
            }
            var answer = await client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "s1" }).DefaultTimeout();
            Assert.Equal("healthy", answer.Instance.Status);
            // Asked of both, once each: no retry loop.
            Assert.Single(a.Calls.Of("GetInstance"));
            Assert.Single(b.Calls.Of("GetInstance"));
        }
        finally
        {
            redis.Resume();
        }
    }

    private static async Task WaitReadyAsync(TestControlPlane replica)
    {
        using var http = new HttpClient { BaseAddress = replica.Http };
        await Eventually.WaitAsync("the replica to be ready", async () =>
        {
            using var ready = await http.GetAsync("/readyz").DefaultTimeout();
            return ready.IsSuccessStatusCode;
        });
    }

    [Fact]
    public async Task AReadAnsweredFromMemory_IsAskedOfTheOtherReplica_WhichHasTheCurrentAnswer()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var relay = TcpRelay.Start(redis.Port);
        await using var cutOff = await TestControlPlane.StartAsync(args: Replica("cp-a", relay.Port));
        await using var inContact = await TestControlPlane.StartAsync(args: Replica("cp-b", redis.Port));
        using var client = cutOff.CreateClient(options => options.Addresses.Add(inContact.Grpc));
        await client.Registry.RegisterAsync(TypedCallTests.Instance("s1", 9401)).DefaultTimeout();
        await Eventually.WaitAsync("cp-a to hold s1", async () => (await cutOff.Services.GetRequiredService<Server.Storage.IRegistryStore>().GetAsync("s1")) is not null);

        relay.Cut();
        using var other = inContact.CreateClient();
        await other.Registry.DrainInstanceAsync(new DrainInstanceRequest { InstanceId = "s1" }).DefaultTimeout();
        // cp-a learns it is cut off (its revision checks time out), then answers from memory: s1 still healthy.
        await Eventually.WaitAsync("cp-a to answer from memory", () => cutOff.Services.GetRequiredService<Server.Storage.IRegistryStore>().KnownUnreachable);

        var answer = await client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "s1" }).DefaultTimeout();

        Assert.Equal("draining", answer.Instance.Status); // cp-b's, from Redis
        Assert.Equal(inContact.Grpc, client.Invoker.CurrentAddress);
        Assert.Single(cutOff.Calls.Of("GetInstance"));
        Assert.Single(inContact.Calls.Of("GetInstance"));
    }
}
