using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>What every <see cref="IPolicyStore"/> does, run against the embedded store and Redis.</summary>
public abstract class PolicyStoreContract : IAsyncDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A new, empty store keeping at most <paramref name="maxChangesPerImage"/> audit records per image.</summary>
    protected abstract IPolicyStore CreateStore(int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage);

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static RoutingPolicy Policy(string image, string algorithm = "weighted_rr", int weight = 2, string by = "ops", int minute = 0)
    {
        var policy = new RoutingPolicy { Image = image, Algorithm = algorithm, StickyKey = algorithm == "consistent_hash" ? "customer_id" : "" };
        if (algorithm == "weighted_rr")
        {
            policy.Weights.Add("i1", weight);
            policy.Weights.Add("i2", 1);
        }
        policy.Version = PolicyRegistry.VersionOf(policy);
        policy.UpdatedAt = Timestamp.FromDateTimeOffset(T0.AddMinutes(minute));
        policy.UpdatedBy = by;
        return policy;
    }

    private static PolicyAudit Audit(string actor = "ops", int minute = 0, string reason = "", string requestId = "req-1") => new(T0.AddMinutes(minute), actor, reason, requestId);

    [Fact]
    public async Task Get_WithoutAPolicy_IsNull_AndTheTrailIsEmpty()
    {
        var store = CreateStore();
        Assert.Null(await store.GetAsync("img.a").DefaultTimeout());
        Assert.Empty(await store.ListAsync().DefaultTimeout());
        Assert.Empty(await store.ListChangesAsync("img.a", 10).DefaultTimeout());
    }

    [Fact]
    public async Task Set_StoresThePolicy_AsGiven_AndRecordsIt()
    {
        var store = CreateStore();
        var policy = Policy("img.a");

        var write = await store.SetAsync(policy, Audit(reason: "first", requestId: "r-42")).DefaultTimeout();

        Assert.Equal(new PolicyWrite(true, policy, null), write);
        Assert.Equal(policy, await store.GetAsync("img.a").DefaultTimeout());
        var change = Assert.Single(await store.ListChangesAsync("img.a", 10).DefaultTimeout());
        Assert.Equal(new PolicyChange
        {
            Image = "img.a",
            Action = PolicyActions.Set,
            ChangedAt = Timestamp.FromDateTimeOffset(T0),
            Actor = "ops",
            After = policy,
            Reason = "first",
            RequestId = "r-42",
        }, change);
    }

    [Fact]
    public async Task Set_TheSameContentAgain_WritesNothing_AndRecordsNothing()
    {
        var store = CreateStore();
        var first = Policy("img.a");
        await store.SetAsync(first, Audit()).DefaultTimeout();
        var retry = Policy("img.a", by: "agent", minute: 5);

        var write = await store.SetAsync(retry, Audit("agent", 5)).DefaultTimeout();

        Assert.False(write.Stored);
        Assert.Equal(first, write.Current);
        Assert.Equal(first, write.Previous);
        Assert.Equal(first, await store.GetAsync("img.a").DefaultTimeout());
        Assert.Single(await store.ListChangesAsync("img.a", 10).DefaultTimeout());
    }

    [Fact]
    public async Task Set_NewContent_ReplacesIt_AndRecordsBeforeAndAfter_NewestFirst()
    {
        var store = CreateStore();
        var first = Policy("img.a");
        var second = Policy("img.a", "least_conn", by: "agent", minute: 1);
        await store.SetAsync(first, Audit()).DefaultTimeout();

        var write = await store.SetAsync(second, Audit("agent", 1, "faster")).DefaultTimeout();

        Assert.Equal(new PolicyWrite(true, second, first), write);
        Assert.Equal(second, await store.GetAsync("img.a").DefaultTimeout());
        var changes = await store.ListChangesAsync("img.a", 10).DefaultTimeout();
        Assert.Equal(2, changes.Count);
        Assert.Equal(("agent", first, second, "faster"), (changes[0].Actor, changes[0].Before, changes[0].After, changes[0].Reason));
        Assert.Equal(("ops", null, first), (changes[1].Actor, changes[1].Before, changes[1].After));
    }

    [Fact]
    public async Task Set_IfVersion_StoresOverThatVersionOnly_AndAStaleOneChangesNothing()
    {
        var store = CreateStore();
        var first = Policy("img.a");
        var second = Policy("img.a", "least_conn", minute: 1);
        var third = Policy("img.a", "round_robin", minute: 2);
        await store.SetAsync(first, Audit()).DefaultTimeout();

        var write = await store.SetAsync(second, Audit(minute: 1), ifVersion: first.Version).DefaultTimeout();
        Assert.Equal(new PolicyWrite(true, second, first), write);

        var stale = await store.SetAsync(third, Audit(minute: 2), ifVersion: first.Version).DefaultTimeout();
        Assert.True(stale.VersionMismatch);
        Assert.False(stale.Stored);
        Assert.Equal(second, stale.Current);
        Assert.Equal(second, await store.GetAsync("img.a").DefaultTimeout());
        Assert.Equal(2, (await store.ListChangesAsync("img.a", 10).DefaultTimeout()).Count);

        // The stored version, with the content already there: nothing to write, as without a condition.
        var same = await store.SetAsync(Policy("img.a", "least_conn", minute: 3), Audit(minute: 3), ifVersion: second.Version).DefaultTimeout();
        Assert.Equal((false, false, second), (same.Stored, same.VersionMismatch, same.Current));
    }

    [Fact]
    public async Task Set_IfVersion_WithoutAPolicy_IsAMismatch_AndStoresNothing()
    {
        var store = CreateStore();
        var policy = Policy("img.a");

        var write = await store.SetAsync(policy, Audit(), ifVersion: policy.Version).DefaultTimeout();

        Assert.True(write.VersionMismatch);
        Assert.False(write.Stored);
        Assert.Null(write.Current);
        Assert.Null(await store.GetAsync("img.a").DefaultTimeout());
        Assert.Empty(await store.ListAsync().DefaultTimeout());
        Assert.Empty(await store.ListChangesAsync("img.a", 10).DefaultTimeout());
    }

    [Fact]
    public async Task Delete_RemovesIt_RecordsIt_AndKeepsTheTrail()
    {
        var store = CreateStore();
        var policy = Policy("img.a");
        await store.SetAsync(policy, Audit()).DefaultTimeout();

        var deleted = await store.DeleteAsync("img.a", Audit("admin", 2, "retired")).DefaultTimeout();

        Assert.Equal(policy, deleted);
        Assert.Null(await store.GetAsync("img.a").DefaultTimeout());
        Assert.Empty(await store.ListAsync().DefaultTimeout());
        var changes = await store.ListChangesAsync("img.a", 10).DefaultTimeout();
        Assert.Equal(2, changes.Count);
        Assert.Equal((PolicyActions.Delete, "admin", policy, (RoutingPolicy?)null, "retired"), (changes[0].Action, changes[0].Actor, changes[0].Before, changes[0].After, changes[0].Reason));
        Assert.Equal(Timestamp.FromDateTimeOffset(T0.AddMinutes(2)), changes[0].ChangedAt);
    }

    [Fact]
    public async Task Delete_WithoutAPolicy_IsNull_AndRecordsNothing()
    {
        var store = CreateStore();
        Assert.Null(await store.DeleteAsync("img.a", Audit()).DefaultTimeout());
        Assert.Empty(await store.ListChangesAsync("img.a", 10).DefaultTimeout());
    }

    [Fact]
    public async Task Set_AfterDelete_HasNoPrevious()
    {
        var store = CreateStore();
        await store.SetAsync(Policy("img.a"), Audit()).DefaultTimeout();
        await store.DeleteAsync("img.a", Audit()).DefaultTimeout();

        var write = await store.SetAsync(Policy("img.a"), Audit()).DefaultTimeout();

        Assert.True(write.Stored);
        Assert.Null(write.Previous);
        Assert.Equal(3, (await store.ListChangesAsync("img.a", 10).DefaultTimeout()).Count);
    }

    [Fact]
    public async Task Changes_AreLimited_AndTrimmedToTheBound()
    {
        var store = CreateStore(maxChangesPerImage: 3);
        for (var i = 1; i <= 5; i++)
        {
            await store.SetAsync(Policy("img.a", weight: i, minute: i), Audit(minute: i)).DefaultTimeout();
        }

        var all = await store.ListChangesAsync("img.a", 100).DefaultTimeout();
        var two = await store.ListChangesAsync("img.a", 2).DefaultTimeout();

        Assert.Equal([5, 4, 3], all.Select(c => c.After.Weights["i1"]));
        Assert.Equal([5, 4], two.Select(c => c.After.Weights["i1"]));
        Assert.Empty(await store.ListChangesAsync("img.a", 0).DefaultTimeout());
        Assert.Empty(await store.ListChangesAsync("img.b", 10).DefaultTimeout());
    }

    [Fact]
    public async Task List_OrdersByImage_PagesAfterAnImage_UpToALimit()
    {
        var store = CreateStore();
        foreach (var image in new[] { "img.c", "img.a", "img.b", "img.a.b" })
        {
            await store.SetAsync(Policy(image, "round_robin"), Audit()).DefaultTimeout();
        }

        Assert.Equal(["img.a", "img.a.b", "img.b", "img.c"], (await store.ListAsync().DefaultTimeout()).Select(p => p.Image));
        Assert.Equal(["img.a", "img.a.b"], (await store.ListAsync(limit: 2).DefaultTimeout()).Select(p => p.Image));
        Assert.Equal(["img.b"], (await store.ListAsync("img.a.b", 1).DefaultTimeout()).Select(p => p.Image));
        Assert.Equal(["img.b", "img.c"], (await store.ListAsync("img.a.c").DefaultTimeout()).Select(p => p.Image));
        Assert.Empty(await store.ListAsync("img.c").DefaultTimeout());
        Assert.Empty(await store.ListAsync(limit: 0).DefaultTimeout());
        Assert.Equal(Policy("img.b", "round_robin"), (await store.ListAsync("img.a.b", 1).DefaultTimeout())[0]);
    }

    [Fact]
    public async Task HandedOutMessages_AreTheCallersOwn()
    {
        var store = CreateStore();
        var policy = Policy("img.a");
        await store.SetAsync(policy, Audit()).DefaultTimeout();
        policy.Algorithm = "least_conn";
        (await store.GetAsync("img.a").DefaultTimeout())!.Weights["i1"] = 99;
        (await store.ListChangesAsync("img.a", 1).DefaultTimeout())[0].After.StickyKey = "changed";

        var stored = (await store.GetAsync("img.a").DefaultTimeout())!;
        Assert.Equal(("weighted_rr", 2), (stored.Algorithm, stored.Weights["i1"]));
        Assert.Equal(Policy("img.a"), (await store.ListChangesAsync("img.a", 1).DefaultTimeout())[0].After);
    }

    [Fact]
    public async Task ConsistentHashPolicies_KeepTheirStickyKey()
    {
        var store = CreateStore();
        var policy = Policy("img.a", "consistent_hash");
        await store.SetAsync(policy, Audit()).DefaultTimeout();
        Assert.Equal("customer_id", (await store.GetAsync("img.a").DefaultTimeout())!.StickyKey);
    }
}
