using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Tests.Storage;

public abstract partial class RegistryStoreContract
{
    [Fact]
    public async Task Renew_ExtendsTheLease_ByTheInstancesOwnTtl()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 30), T0);

        var outcome = (await store.RenewAsync(["i1"], 0, T0.AddSeconds(20)).DefaultTimeout()).Single();

        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Healthy, 30, T0.AddSeconds(50)), outcome);
        var record = (await store.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal((T0.AddSeconds(20), T0.AddSeconds(50)), (record.LastHeartbeatAt, record.ExpiresAt));
        Assert.Equal(T0, record.RegisteredAt);
    }

    [Fact]
    public async Task Renew_WithATtl_KeepsThatTtl_ForLaterRenewals()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 30), T0);

        var changed = (await store.RenewAsync(["i1"], 5, T0.AddSeconds(1)).DefaultTimeout()).Single();
        var later = (await store.RenewAsync(["i1"], 0, T0.AddSeconds(2)).DefaultTimeout()).Single();

        Assert.Equal((5, T0.AddSeconds(6)), (changed.TtlSeconds, changed.ExpiresAt));
        Assert.Equal((5, T0.AddSeconds(7)), (later.TtlSeconds, later.ExpiresAt));
        Assert.Equal(5, (await store.GetAsync("i1").DefaultTimeout())!.Spec.TtlSeconds);
        // The shorter lease is the one the expiry scan sees.
        Assert.Equal(T0.AddSeconds(7), (await store.ScanExpiryAsync(T0.AddSeconds(3), Retention, 10).DefaultTimeout()).NextDeadline);
    }

    [Fact]
    public async Task Renew_UnknownAndExpired_AreNotFound_AndDrainingStaysDraining()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("gone", ttl: 10), T0);
        await RegisterAsync(store, Spec("drained", ttl: 60), T0);
        await store.SetDrainingAsync("drained", true).DefaultTimeout();
        await ExpireDueAsync(store, T0.AddSeconds(10));

        var outcomes = await store.RenewAsync(["unknown", "gone", "drained"], 0, T0.AddSeconds(11)).DefaultTimeout();

        var notFound = new RenewOutcome(RenewResult.NotFound, InstanceStatus.Expired, 0, default);
        Assert.Equal([notFound, notFound, new RenewOutcome(RenewResult.Renewed, InstanceStatus.Draining, 60, T0.AddSeconds(71))], outcomes);
        Assert.Equal(InstanceStatus.Expired, (await store.GetAsync("gone").DefaultTimeout())!.Status);
        Assert.Null(await store.GetAsync("unknown").DefaultTimeout());
    }

    [Fact]
    public async Task Renew_AThousandIds_AnswersEachInOrder()
    {
        var store = NewStore();
        var ids = Enumerable.Range(0, 1000).Select(i => $"i{i:D4}").ToArray();
        foreach (var id in ids.Where((_, i) => i % 2 == 0))
        {
            await RegisterAsync(store, Spec(id, port: 10_000 + int.Parse(id[1..], System.Globalization.CultureInfo.InvariantCulture), ttl: 30), T0);
        }

        var outcomes = await store.RenewAsync(ids, 0, T0.AddSeconds(10)).DefaultTimeout();

        Assert.Equal(1000, outcomes.Length);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? RenewResult.Renewed : RenewResult.NotFound, outcomes[i].Result);
        }
        Assert.All(outcomes.Where(o => o.Result == RenewResult.Renewed), o => Assert.Equal(T0.AddSeconds(40), o.ExpiresAt));
    }

    [Fact]
    public async Task Renew_TheSameIdTwiceInOneCall_RenewsItTwice()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 30), T0);
        var outcomes = await store.RenewAsync(["i1", "i1"], 0, T0.AddSeconds(1)).DefaultTimeout();
        Assert.All(outcomes, o => Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Healthy, 30, T0.AddSeconds(31)), o));
    }

    [Fact]
    public async Task Renew_NoIds_AnswersNothing()
    {
        var store = NewStore();
        Assert.Empty(await store.RenewAsync([], 0, T0).DefaultTimeout());
    }

    [Fact]
    public async Task Renew_AnOverdueInstance_BeforeTheExpiryPass_SavesIt()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        var scan = await store.ScanExpiryAsync(T0.AddSeconds(11), Retention, 10).DefaultTimeout();
        Assert.Equal(["i1"], scan.Overdue);

        await store.RenewAsync(["i1"], 0, T0.AddSeconds(11)).DefaultTimeout();

        // The heartbeat won the race: the pass that scanned before it expires nothing.
        Assert.Empty(await store.ExpireAsync(scan.Overdue, T0.AddSeconds(11)).DefaultTimeout());
        Assert.Empty((await store.ScanExpiryAsync(T0.AddSeconds(11), Retention, 10).DefaultTimeout()).Overdue);
        Assert.Equal(InstanceStatus.Healthy, (await store.GetAsync("i1").DefaultTimeout())!.Status);
    }
}
