using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Tests.Storage;

public abstract partial class RegistryStoreContract
{
    [Fact]
    public async Task Register_New_IsCreated_WithEveryFieldKept()
    {
        var store = NewStore();
        var spec = Spec("i1", host: "Backend-1.example", port: 8080, ttl: 30);

        var outcome = await store.RegisterAsync(spec, T0).DefaultTimeout();

        Assert.Equal(RegisterResult.Created, outcome.Result);
        Assert.Null(outcome.Holder);
        var record = outcome.Instance!;
        AssertSameSpec(spec, record.Spec);
        Assert.Equal(2, record.Spec.Metadata!.Fields["weight"].NumberValue);
        Assert.Equal(InstanceStatus.Healthy, record.Status);
        Assert.Equal((T0, T0, T0.AddSeconds(30)), (record.RegisteredAt, record.LastHeartbeatAt, record.ExpiresAt));
        Assert.Null(record.ExpiredAt);
        Assert.Equal(record, await store.GetAsync("i1").DefaultTimeout());
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
    }

    [Theory]
    [InlineData("::1", "[::1]")]
    [InlineData("::1", "0:0:0:0:0:0:0:1")]
    [InlineData("FE80::A", "fe80:0:0::a")]
    [InlineData("b\u00fccher.de", "xn--bcher-kva.de")]
    [InlineData("backend.example.", "BACKEND.example")]
    public async Task EverySpellingOfOneAddress_IsOneEndpoint_ForThePortGuard(string first, string second)
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", host: first, port: 8080), T0);

        var other = await store.RegisterAsync(Spec("i2", host: second, port: 8080), T0).DefaultTimeout();

        Assert.Equal(RegisterResult.PortConflict, other.Result);
        Assert.Equal("i1", other.Holder!.InstanceId);
        Assert.Equal(first, (await store.GetAsync("i1").DefaultTimeout())!.Spec.Host); // kept as sent
    }

    [Fact]
    public async Task Register_WithoutMetadataOrRegion_KeepsThemEmpty()
    {
        var store = NewStore();
        var spec = Spec("i1", region: "", metadataJson: "{}");
        var record = await RegisterAsync(store, spec, T0);
        Assert.True(record.Spec.MetadataBytes.IsEmpty);
        Assert.Null(record.Spec.Metadata);
        Assert.Equal("", (await store.GetAsync("i1").DefaultTimeout())!.Spec.Region);
    }

    [Fact]
    public async Task Register_Again_IsUpdated_KeepsRegisteredAt_ReplacesTheSpec_RenewsTheLease()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", port: 8080), T0);
        var changed = Spec("i1", port: 9090, ttl: 60, region: "us-east", metadataJson: "{\"weight\": 5, \"zone\": \"b\"}");

        var outcome = await store.RegisterAsync(changed, T0.AddSeconds(10)).DefaultTimeout();

        Assert.Equal(RegisterResult.Updated, outcome.Result);
        var record = outcome.Instance!;
        AssertSameSpec(changed, record.Spec);
        Assert.Equal(T0, record.RegisteredAt);
        Assert.Equal(T0.AddSeconds(10), record.LastHeartbeatAt);
        Assert.Equal(T0.AddSeconds(70), record.ExpiresAt);
        Assert.Single(await IdsAsync(store));
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
    }

    [Theory]
    [InlineData("other-svc", "img.video.svc")]
    [InlineData("video-svc", "img.other")]
    public async Task Register_SameId_OtherNameOrImage_IsADuplicate_NamingTheOwner_AndChangesNothing(string name, string image)
    {
        var store = NewStore();
        var owner = await RegisterAsync(store, Spec("i1", port: 8080), T0);

        var outcome = await store.RegisterAsync(Spec("i1", name: name, image: image, port: 8081), T0.AddSeconds(5)).DefaultTimeout();

        Assert.Equal(RegisterResult.DuplicateInstanceId, outcome.Result);
        Assert.Null(outcome.Instance);
        Assert.Equal(owner, outcome.Holder);
        Assert.Equal(owner, await store.GetAsync("i1").DefaultTimeout());
        Assert.Empty(await IdsAsync(store, new InstanceQuery(Name: name, Image: image)));
        // The refused registration did not take 8081 either.
        await RegisterAsync(store, Spec("i2", port: 8081), T0.AddSeconds(5));
    }

    [Fact]
    public async Task Register_SameId_OtherName_IsRefused_EvenWhileTheOwnerIsExpired()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        Assert.Single(await ExpireDueAsync(store, T0.AddSeconds(10)));

        var outcome = await store.RegisterAsync(Spec("i1", name: "other-svc"), T0.AddSeconds(11)).DefaultTimeout();

        Assert.Equal(RegisterResult.DuplicateInstanceId, outcome.Result);
        Assert.Equal(InstanceStatus.Expired, outcome.Holder!.Status);
    }

    [Fact]
    public async Task Register_HostPortOfAnotherLiveInstance_IsAConflict_NamingTheHolder_AndChangesNothing()
    {
        var store = NewStore();
        var holder = await RegisterAsync(store, Spec("i1", host: "10.0.0.5", port: 8080), T0);

        // Host names compare without regard to case.
        var outcome = await store.RegisterAsync(Spec("i2", host: "10.0.0.5", port: 8080), T0).DefaultTimeout();
        var byCase = await store.RegisterAsync(Spec("i3", host: "backend", port: 7000), T0).DefaultTimeout();
        var conflictByCase = await store.RegisterAsync(Spec("i4", host: "BACKEND", port: 7000), T0).DefaultTimeout();

        Assert.Equal(RegisterResult.PortConflict, outcome.Result);
        Assert.Null(outcome.Instance);
        Assert.Equal(holder, outcome.Holder);
        Assert.Equal(RegisterResult.Created, byCase.Result);
        Assert.Equal(RegisterResult.PortConflict, conflictByCase.Result);
        Assert.Equal("i3", conflictByCase.Holder!.InstanceId);
        Assert.Null(await store.GetAsync("i2").DefaultTimeout());
        Assert.Null(await store.GetAsync("i4").DefaultTimeout());
        Assert.Equal(["i1", "i3"], await IdsAsync(store));
        // The same host on another port is another endpoint.
        await RegisterAsync(store, Spec("i2", host: "10.0.0.5", port: 8081), T0);
    }

    [Fact]
    public async Task Register_HostPortOfADrainingInstance_IsAConflict()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", port: 8080), T0);
        await store.SetDrainingAsync("i1", true).DefaultTimeout();

        var outcome = await store.RegisterAsync(Spec("i2", port: 8080), T0).DefaultTimeout();

        Assert.Equal(RegisterResult.PortConflict, outcome.Result);
        Assert.Equal(InstanceStatus.Draining, outcome.Holder!.Status);
    }

    [Fact]
    public async Task Register_MovingToAnotherPort_FreesTheOldOne()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", port: 8080), T0);
        await RegisterAsync(store, Spec("i1", port: 8081), T0.AddSeconds(1));

        Assert.Equal(RegisterResult.Created, (await store.RegisterAsync(Spec("i2", port: 8080), T0.AddSeconds(2)).DefaultTimeout()).Result);
        var conflict = await store.RegisterAsync(Spec("i3", port: 8081), T0.AddSeconds(2)).DefaultTimeout();
        Assert.Equal(RegisterResult.PortConflict, conflict.Result);
        Assert.Equal("i1", conflict.Holder!.InstanceId);
    }

    [Fact]
    public async Task ExpiryAndDeregistration_FreeTheEndpoint()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", port: 8080, ttl: 10), T0);
        await RegisterAsync(store, Spec("i2", port: 8081, ttl: 60), T0);
        Assert.Single(await ExpireDueAsync(store, T0.AddSeconds(10)));
        await store.DeregisterAsync("i2").DefaultTimeout();

        await RegisterAsync(store, Spec("i3", port: 8080), T0.AddSeconds(11));
        await RegisterAsync(store, Spec("i4", port: 8081), T0.AddSeconds(11));

        // The expired i1 may come back only to a free endpoint: 8080 is i3's now.
        var back = await store.RegisterAsync(Spec("i1", port: 8080), T0.AddSeconds(12)).DefaultTimeout();
        Assert.Equal(RegisterResult.PortConflict, back.Result);
        Assert.Equal("i3", back.Holder!.InstanceId);
        Assert.Equal(InstanceStatus.Expired, (await store.GetAsync("i1").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task Register_AnExpiredInstance_BringsItBackHealthy()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        Assert.Single(await ExpireDueAsync(store, T0.AddSeconds(10)));

        var outcome = await store.RegisterAsync(Spec("i1", ttl: 10), T0.AddSeconds(20)).DefaultTimeout();

        Assert.Equal(RegisterResult.Updated, outcome.Result);
        Assert.Equal(InstanceStatus.Healthy, outcome.Instance!.Status);
        Assert.Null(outcome.Instance.ExpiredAt);
        Assert.Equal(T0, outcome.Instance.RegisteredAt);
        Assert.Equal(T0.AddSeconds(30), outcome.Instance.ExpiresAt);
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
        // No longer retained for removal: the retention of its old expiry must not remove it.
        Assert.Empty(await store.RemoveExpiredAsync(T0.AddSeconds(10) + Retention, Retention).DefaultTimeout());
        Assert.NotNull(await store.GetAsync("i1").DefaultTimeout());
    }

    [Fact]
    public async Task Register_ADrainingInstance_LeavesItDraining()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1"), T0);
        await store.SetDrainingAsync("i1", true).DefaultTimeout();

        var record = await RegisterAsync(store, Spec("i1"), T0.AddSeconds(1));

        Assert.Equal(InstanceStatus.Draining, record.Status);
        Assert.Equal(new RegistryCounts(0, 1, 0), await store.CountAsync().DefaultTimeout());
    }

    [Fact]
    public async Task Register_AfterRemoval_IsCreatedAgain()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        await ExpireDueAsync(store, T0.AddSeconds(10));
        Assert.Single(await store.RemoveExpiredAsync(T0.AddSeconds(10) + Retention, Retention).DefaultTimeout());

        var outcome = await store.RegisterAsync(Spec("i1", name: "other-svc"), T0.AddSeconds(100)).DefaultTimeout();

        Assert.Equal(RegisterResult.Created, outcome.Result);
        Assert.Equal(T0.AddSeconds(100), outcome.Instance!.RegisteredAt);
    }

    [Fact]
    public async Task Deregister_ReturnsTheRecord_AndForgetsIt_Everywhere()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", port: 8080), T0);
        await RegisterAsync(store, Spec("i2"), T0);
        await store.SetDrainingAsync("i1", true).DefaultTimeout();

        var removed = await store.DeregisterAsync("i1").DefaultTimeout();

        Assert.Equal(("i1", InstanceStatus.Draining), (removed!.InstanceId, removed.Status));
        Assert.Null(await store.GetAsync("i1").DefaultTimeout());
        Assert.Equal(["i2"], await IdsAsync(store));
        Assert.Equal(["i2"], await IdsAsync(store, new InstanceQuery(Name: "video-svc")));
        Assert.Equal(["i2"], await IdsAsync(store, new InstanceQuery(Image: "img.video.svc")));
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
        Assert.Null(await store.DeregisterAsync("i1").DefaultTimeout());
        var scan = await store.ScanExpiryAsync(T0.AddSeconds(100), Retention, 10).DefaultTimeout();
        Assert.Equal(["i2"], scan.Overdue);
    }

    [Fact]
    public async Task Deregister_AnExpiredInstance_RemovesIt_BeforeItsRetentionEnds()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        await ExpireDueAsync(store, T0.AddSeconds(10));

        var removed = await store.DeregisterAsync("i1").DefaultTimeout();

        Assert.Equal(InstanceStatus.Expired, removed!.Status);
        Assert.Equal(new RegistryCounts(0, 0, 0), await store.CountAsync().DefaultTimeout());
        Assert.Empty(await store.RemoveExpiredAsync(T0.AddSeconds(100), Retention).DefaultTimeout());
        Assert.Null((await store.ScanExpiryAsync(T0.AddSeconds(11), Retention, 10).DefaultTimeout()).NextDeadline);
    }

    [Fact]
    public async Task Draining_AndResuming_ChangeOnlyTheStatus()
    {
        var store = NewStore();
        var registered = await RegisterAsync(store, Spec("i1"), T0);

        var drained = await store.SetDrainingAsync("i1", true).DefaultTimeout();
        var again = await store.SetDrainingAsync("i1", true).DefaultTimeout();
        Assert.Equal(InstanceStatus.Draining, drained!.Status);
        Assert.Equal(registered with { Status = InstanceStatus.Draining }, drained);
        Assert.Equal(drained, again);
        Assert.Equal(new RegistryCounts(0, 1, 0), await store.CountAsync().DefaultTimeout());

        var resumed = await store.SetDrainingAsync("i1", false).DefaultTimeout();
        Assert.Equal(InstanceStatus.Healthy, resumed!.Status);
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
    }

    [Fact]
    public async Task Draining_AnExpiredOrUnknownInstance_IsNull()
    {
        var store = NewStore();
        await RegisterAsync(store, Spec("i1", ttl: 10), T0);
        await store.SetDrainingAsync("i1", true).DefaultTimeout();
        await ExpireDueAsync(store, T0.AddSeconds(10));

        Assert.Null(await store.SetDrainingAsync("i1", false).DefaultTimeout());
        Assert.Null(await store.SetDrainingAsync("nope", true).DefaultTimeout());
        Assert.Equal(new RegistryCounts(0, 0, 1), await store.CountAsync().DefaultTimeout());
        // Back from expiry it is healthy: the drain ended with the lease.
        Assert.Equal(InstanceStatus.Healthy, (await RegisterAsync(store, Spec("i1"), T0.AddSeconds(20))).Status);
    }
}
