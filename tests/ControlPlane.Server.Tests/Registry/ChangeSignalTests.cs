using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Tests.Registry;

/// <summary>The registry signals endpoint-set changes (what the config push listens to) with the instances that changed, and heartbeats do not.</summary>
public sealed class ChangeSignalTests
{
    [Fact]
    public async Task Register_Drain_Expire_Deregister_SignalTheImage_HeartbeatsDoNot()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.SelfPreservation.Enabled = false);
        var signals = new List<(string Type, string Name, string Instances)>();
        bed.Changes.Changed += (type, name, ids) => signals.Add((type, name, string.Join(',', ids ?? ["(all)"])));

        await bed.RegisterAsync(RegistryTestBed.Instance("a1", image: "img.a", ttl: 10));
        await bed.RegisterAsync(RegistryTestBed.Instance("b1", image: "img.b", ttl: 60));
        await bed.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "b1" });
        await bed.BeatAsync("b1");
        Assert.Equal([(ResourceTypes.EndpointSet, "img.a", "a1"), (ResourceTypes.EndpointSet, "img.b", "b1")], signals);

        signals.Clear();
        await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "b1" });
        bed.Clock.Advance(10);
        await bed.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "b1" });
        Assert.Equal([(ResourceTypes.EndpointSet, "img.b", "b1"), (ResourceTypes.EndpointSet, "img.a", "a1"), (ResourceTypes.EndpointSet, "img.b", "b1")], signals);
    }

    [Fact]
    public async Task RemovalAfterTheRetention_SignalsTheImage_WithTheRemovedInstances()
    {
        await using var bed = await RegistryTestBed.StartAsync(o =>
        {
            o.SelfPreservation.Enabled = false;
            o.ExpiredRetention = TimeSpan.FromSeconds(60);
        });
        var signals = new List<(string Type, string Name, string Instances)>();
        bed.Changes.Changed += (type, name, ids) => signals.Add((type, name, string.Join(",", ids is null ? ["(all)"] : ids.Order(StringComparer.Ordinal))));
        await bed.RegisterAsync(RegistryTestBed.Instance("a1", image: "img.a", ttl: 10));
        await bed.RegisterAsync(RegistryTestBed.Instance("a2", image: "img.a", ttl: 10));
        bed.Clock.Advance(10);
        Assert.Equal("expired", await bed.StatusOfAsync("a1"));

        // The image keeps its endpoint set (no endpoints) while the records are retained; their removal
        // removes it, so it must reach the config push like any other change.
        signals.Clear();
        bed.Clock.Advance(60);

        Assert.Null(await bed.StatusOfAsync("a1"));
        Assert.Equal([(ResourceTypes.EndpointSet, "img.a", "a1,a2")], signals);
    }
}
