using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Tests.Storage;

public abstract partial class RegistryStoreContract
{
    /// <summary>
    /// v-1, v-2 (video-svc, img.video), a-1 (audio-svc, img.video), x-1 (video-svc, img.x),
    /// registered out of order; v-2 draining, x-1 expired.
    /// </summary>
    private static async Task<IRegistryStore> FleetAsync(IRegistryStore store)
    {
        await RegisterAsync(store, Spec("v-2", image: "img.video"), T0);
        await RegisterAsync(store, Spec("x-1", image: "img.x", ttl: 10), T0);
        await RegisterAsync(store, Spec("a-1", name: "audio-svc", image: "img.video"), T0);
        await RegisterAsync(store, Spec("v-1", image: "img.video"), T0);
        await store.SetDrainingAsync("v-2", true).DefaultTimeout();
        Assert.Single(await ExpireDueAsync(store, T0.AddSeconds(10)));
        return store;
    }

    [Fact]
    public async Task List_OrdersByInstanceId_AndShowsEveryStatus()
    {
        var store = await FleetAsync(NewStore());
        var all = await store.ListAsync(new InstanceQuery()).DefaultTimeout();
        Assert.Equal(["a-1", "v-1", "v-2", "x-1"], all.Select(r => r.InstanceId));
        Assert.Equal([InstanceStatus.Healthy, InstanceStatus.Healthy, InstanceStatus.Draining, InstanceStatus.Expired], all.Select(r => r.Status));
    }

    [Fact]
    public async Task List_FiltersByName_Image_Status_AndTheirCombinations()
    {
        var store = await FleetAsync(NewStore());
        Assert.Equal(["v-1", "v-2", "x-1"], await IdsAsync(store, new InstanceQuery(Name: "video-svc")));
        Assert.Equal(["a-1", "v-1", "v-2"], await IdsAsync(store, new InstanceQuery(Image: "img.video")));
        Assert.Equal(["v-1", "v-2"], await IdsAsync(store, new InstanceQuery(Name: "video-svc", Image: "img.video")));
        Assert.Equal(["a-1", "v-1"], await IdsAsync(store, new InstanceQuery(Status: InstanceStatus.Healthy)));
        Assert.Equal(["v-2"], await IdsAsync(store, new InstanceQuery(Status: InstanceStatus.Draining)));
        Assert.Equal(["x-1"], await IdsAsync(store, new InstanceQuery(Name: "video-svc", Status: InstanceStatus.Expired)));
        Assert.Empty(await IdsAsync(store, new InstanceQuery(Image: "img.x", Status: InstanceStatus.Healthy)));
        Assert.Empty(await IdsAsync(store, new InstanceQuery(Name: "nope")));
        Assert.Empty(await IdsAsync(store, new InstanceQuery(Image: "img.nope")));
    }

    [Fact]
    public async Task GetMany_AnswersEachIdInOrder_NullForUnknownOnes_AsGetDoes()
    {
        var store = await FleetAsync(NewStore());
        await store.RenewAsync(["v-1"], 0, T0.AddSeconds(5)).DefaultTimeout();
        string[] ids = ["x-1", "nope", "v-1", "v-2", "v-1"];

        var many = await store.GetManyAsync(ids).DefaultTimeout();

        Assert.Equal(ids.Length, many.Count);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(await store.GetAsync(ids[i]).DefaultTimeout(), many[i]);
        }
        Assert.Null(many[1]);
        Assert.Equal((InstanceStatus.Expired, InstanceStatus.Healthy, InstanceStatus.Draining), (many[0]!.Status, many[2]!.Status, many[3]!.Status));
        Assert.Equal(T0.AddSeconds(5), many[2]!.LastHeartbeatAt);
        Assert.Empty(await store.GetManyAsync([]).DefaultTimeout());
    }

    [Fact]
    public async Task List_PagesAfterAnId_UpToALimit()
    {
        var store = await FleetAsync(NewStore());
        Assert.Equal(["a-1", "v-1"], await IdsAsync(store, new InstanceQuery(Limit: 2)));
        Assert.Equal(["v-2", "x-1"], await IdsAsync(store, new InstanceQuery(AfterInstanceId: "v-1", Limit: 2)));
        Assert.Equal(["v-2", "x-1"], await IdsAsync(store, new InstanceQuery(AfterInstanceId: "v-10")));
        Assert.Empty(await IdsAsync(store, new InstanceQuery(AfterInstanceId: "x-1")));
        Assert.Equal(["v-2"], await IdsAsync(store, new InstanceQuery(Name: "video-svc", AfterInstanceId: "v-1", Limit: 1)));
        Assert.Equal(["x-1"], await IdsAsync(store, new InstanceQuery(Status: InstanceStatus.Expired, Limit: 1)));
        Assert.Empty(await IdsAsync(store, new InstanceQuery(Limit: 0)));
    }

    [Fact]
    public async Task List_AFilteredPage_ReachesPastManySkippedInstances()
    {
        var store = NewStore();
        for (var i = 0; i < 1500; i++)
        {
            await RegisterAsync(store, Spec($"h{i:D4}", port: 20_000 + i), T0);
        }
        await RegisterAsync(store, Spec("z-draining", port: 9000), T0);
        await store.SetDrainingAsync("z-draining", true).DefaultTimeout();

        Assert.Equal(["z-draining"], await IdsAsync(store, new InstanceQuery(Status: InstanceStatus.Draining, Limit: 2)));
        Assert.Equal(1501, (await IdsAsync(store)).Count);
        var page = await IdsAsync(store, new InstanceQuery(AfterInstanceId: "h0999", Limit: 1000));
        Assert.Equal(501, page.Count);
        Assert.Equal(("h1000", "z-draining"), (page[0], page[^1]));
    }
}
