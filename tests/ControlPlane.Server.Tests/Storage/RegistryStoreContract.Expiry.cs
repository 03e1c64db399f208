using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Tests.Storage;

public abstract partial class RegistryStoreContract
{
    [Fact]
    public async Task Scan_FindsTheOverdue_CountsTheLive_AndNamesTheNextDeadline()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("a", ttl: 10), T0);
        await RegisterAsync(store, Spec("b", ttl: 20), T0);
        await RegisterAsync(store, Spec("c", ttl: 30), T0);
        await store.SetDrainingAsync("b", true).DefaultTimeout();

        var before = await store.ScanExpiryAsync(T0.AddSeconds(5), Retention, 10).DefaultTimeout();
        var atDeadline = await store.ScanExpiryAsync(T0.AddSeconds(10), Retention, 10).DefaultTimeout();
        var later = await store.ScanExpiryAsync(T0.AddSeconds(25), Retention, 10).DefaultTimeout();
        var limited = await store.ScanExpiryAsync(T0.AddSeconds(25), Retention, 1).DefaultTimeout();

        Assert.Equal((0, 3, T0.AddSeconds(10)), (before.Overdue.Count, before.LiveCount, before.NextDeadline));
        Assert.Equal(["a"], atDeadline.Overdue);
        Assert.Equal(T0.AddSeconds(20), atDeadline.NextDeadline);
        Assert.Equal(["a", "b"], later.Overdue.Order(StringComparer.Ordinal));
        Assert.Equal((3, T0.AddSeconds(30)), (later.LiveCount, later.NextDeadline));
        Assert.Single(limited.Overdue);
        // Scanning changes nothing: self-preservation may hold the overdue for a while.
        Assert.Equal(new RegistryCounts(2, 1, 0), await store.CountAsync().DefaultTimeout());
        Assert.Equal(2, (await store.ScanExpiryAsync(T0.AddSeconds(25), Retention, 10).DefaultTimeout()).Overdue.Count);
    }

    [Fact]
    public async Task Expire_ExpiresOnlyTheStillOverdue_Once()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("a", ttl: 10), T0);
        await RegisterAsync(store, Spec("b", ttl: 30), T0);
        await store.SetDrainingAsync("a", true).DefaultTimeout();
        var now = T0.AddSeconds(12);

        var expired = await store.ExpireAsync(["a", "b", "unknown"], now).DefaultTimeout();
        var twice = await store.ExpireAsync(["a"], now.AddSeconds(1)).DefaultTimeout();

        var record = Assert.Single(expired);
        Assert.Equal(("a", InstanceStatus.Expired, now), (record.InstanceId, record.Status, record.ExpiredAt));
        Assert.Equal(T0.AddSeconds(10), record.ExpiresAt);
        Assert.Empty(twice);
        Assert.Equal(record, await store.GetAsync("a").DefaultTimeout());
        Assert.Equal(new RegistryCounts(1, 0, 1), await store.CountAsync().DefaultTimeout());
        var scan = await store.ScanExpiryAsync(now, Retention, 10).DefaultTimeout();
        Assert.Equal((0, 1), (scan.Overdue.Count, scan.LiveCount));
    }

    [Fact]
    public async Task Scan_NamesTheEndOfRetention_WhenItComesFirst()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("a", ttl: 10), T0);
        await RegisterAsync(store, Spec("b", ttl: 3600), T0);
        await ExpireDueAsync(store, T0.AddSeconds(10));

        var scan = await store.ScanExpiryAsync(T0.AddSeconds(11), Retention, 10).DefaultTimeout();

        Assert.Equal(T0.AddSeconds(10) + Retention, scan.NextDeadline);
        Assert.Equal(1, scan.LiveCount);
    }

    [Fact]
    public async Task RemoveExpired_RemovesAfterTheRetention_AndNotBefore()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("a", ttl: 10), T0);
        await RegisterAsync(store, Spec("b", ttl: 20), T0);
        await ExpireDueAsync(store, T0.AddSeconds(10));
        await ExpireDueAsync(store, T0.AddSeconds(20));

        var early = await store.RemoveExpiredAsync(T0.AddSeconds(10) + Retention - TimeSpan.FromMilliseconds(1), Retention).DefaultTimeout();
        var first = await store.RemoveExpiredAsync(T0.AddSeconds(10) + Retention, Retention).DefaultTimeout();

        Assert.Empty(early);
        var removed = Assert.Single(first);
        Assert.Equal(("a", InstanceStatus.Expired), (removed.InstanceId, removed.Status));
        Assert.Null(await store.GetAsync("a").DefaultTimeout());
        Assert.Equal(["b"], await IdsAsync(store));
        Assert.Equal(["b"], await IdsAsync(store, new InstanceQuery(Name: "video-svc")));
        Assert.Equal(new RegistryCounts(0, 0, 1), await store.CountAsync().DefaultTimeout());
        Assert.Equal(T0.AddSeconds(20) + Retention, (await store.ScanExpiryAsync(T0.AddSeconds(71), Retention, 10).DefaultTimeout()).NextDeadline);

        Assert.Equal(["b"], (await store.RemoveExpiredAsync(T0.AddSeconds(1000), Retention).DefaultTimeout()).Select(r => r.InstanceId));
        Assert.Equal(new RegistryCounts(0, 0, 0), await store.CountAsync().DefaultTimeout());
    }

    [Fact]
    public async Task ExpiringAndRemoving_MoreThanOneBatch_TakesThemAll()
    {
        var store = NewStore();
        const int count = 2500;
        for (var i = 0; i < count; i++)
        {
            await RegisterAsync(store, Spec($"i{i:D5}", port: 10_000 + i, ttl: 10), T0);
        }

        var expired = await ExpireDueAsync(store, T0.AddSeconds(10));
        var removed = await store.RemoveExpiredAsync(T0.AddSeconds(10) + Retention, Retention).DefaultTimeout();

        Assert.Equal(count, expired.Count);
        Assert.Equal(count, removed.Count);
        Assert.Equal(new RegistryCounts(0, 0, 0), await store.CountAsync().DefaultTimeout());
    }
}
