using ControlPlane.Api.V1;
using ControlPlane.Grpc;

namespace ControlPlane.Server.Tests.Registry;

public sealed class ListingTests
{
    [Fact]
    public async Task List_FiltersByNameImageAndStatus()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.SelfPreservation.Enabled = false);
        await bed.RegisterAsync(RegistryTestBed.Instance("a1", name: "a", image: "img.a"));
        await bed.RegisterAsync(RegistryTestBed.Instance("a2", name: "a", image: "img.a", ttl: 5));
        await bed.RegisterAsync(RegistryTestBed.Instance("b1", name: "b", image: "img.b"));
        bed.Clock.Advance(5);

        Assert.Equal(["a1", "a2"], (await bed.Registry.ListAsync(new ListServicesRequest { Name = "a" })).Instances.Select(i => i.InstanceId));
        Assert.Equal(["b1"], (await bed.Registry.ListAsync(new ListServicesRequest { Image = "img.b" })).Instances.Select(i => i.InstanceId));
        Assert.Equal(["a2"], (await bed.Registry.ListAsync(new ListServicesRequest { Status = "expired" })).Instances.Select(i => i.InstanceId));
        Assert.Equal(["a1"], (await bed.Registry.ListAsync(new ListServicesRequest { Name = "a", Status = "healthy" })).Instances.Select(i => i.InstanceId));
        var bad = await RegistryTestBed.FailsAsync(() => bed.Registry.ListAsync(new ListServicesRequest { Status = "alive" }));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
    }

    [Fact]
    public async Task List_Pages_WithoutGapsOrRepeats()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        for (var i = 0; i < 25; i++)
        {
            await bed.RegisterAsync(RegistryTestBed.Instance($"i{i:00}"));
        }
        var seen = new List<string>();
        var token = "";
        do
        {
            var page = await bed.Registry.ListAsync(new ListServicesRequest { PageSize = 10, PageToken = token });
            Assert.True(page.Instances.Count <= 10);
            seen.AddRange(page.Instances.Select(i => i.InstanceId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"i{i:00}"), seen);

        var error = await RegistryTestBed.FailsAsync(() => bed.Registry.ListAsync(new ListServicesRequest { PageToken = "garbage!" }));
        Assert.Equal("page_token", Assert.Single(error.Status.FieldViolations()).Field);
    }

    [Fact]
    public async Task ServiceInstances_AndTopology_GroupByImageAndService()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("v1", name: "video-svc", image: "img.video.svc"));
        await bed.RegisterAsync(RegistryTestBed.Instance("v2", name: "video-svc", image: "img.video.svc"));
        await bed.RegisterAsync(RegistryTestBed.Instance("t1", name: "thumbs", image: "img.video.svc"));
        await bed.RegisterAsync(RegistryTestBed.Instance("s1", name: "search", image: "img.search"));

        var video = await bed.Registry.GetServiceInstancesAsync(new GetServiceInstancesRequest { Name = "video-svc" });
        Assert.Equal(["v1", "v2"], video.Instances.Select(i => i.InstanceId));
        var missing = await RegistryTestBed.FailsAsync(() => bed.Registry.GetServiceInstancesAsync(new GetServiceInstancesRequest { Name = "nope" }));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var topology = await bed.Registry.GetTopologyAsync(new GetTopologyRequest());
        Assert.Equal(["img.search", "img.video.svc"], topology.Images.Select(i => i.Image));
        var videoImage = topology.Images[1];
        Assert.Equal(["thumbs", "video-svc"], videoImage.Services.Select(s => s.Name));
        Assert.Equal(["v1", "v2"], videoImage.Services[1].Instances.Select(i => i.InstanceId));
        Assert.All(videoImage.Services.SelectMany(s => s.Instances), i => Assert.Equal("healthy", i.Status));
    }

    [Fact]
    public async Task Counts_FollowEveryTransition()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.SelfPreservation.Enabled = false);
        for (var i = 0; i < 5; i++)
        {
            await bed.RegisterAsync(RegistryTestBed.Instance("i" + i, ttl: 10 + i));
        }
        await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "i0" });
        await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "i0" });
        await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "i1" });
        Assert.Equal(new Server.Storage.RegistryCounts(3, 2, 0), await bed.Store.CountAsync());

        bed.Clock.Advance(10); // i0 (draining) expires
        Assert.Equal(new Server.Storage.RegistryCounts(3, 1, 1), await bed.Store.CountAsync());
        await bed.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "i1" });
        await bed.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "i0" });
        Assert.Equal(new Server.Storage.RegistryCounts(3, 0, 0), await bed.Store.CountAsync());
        await bed.RegisterAsync(RegistryTestBed.Instance("i0", ttl: 10));
        Assert.Equal(new Server.Storage.RegistryCounts(4, 0, 0), await bed.Store.CountAsync());
    }
}
