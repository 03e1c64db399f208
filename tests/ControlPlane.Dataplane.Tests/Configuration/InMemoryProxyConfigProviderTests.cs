using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Dataplane.Tests.Configuration;

/// <summary>The snapshot contract: immutable snapshots swapped whole, a change signal, invalid input refused, runtime state carried.</summary>
public sealed class InMemoryProxyConfigProviderTests
{
    [Fact]
    public void BeforeAnyUpdate_TheSnapshotIsNotLoaded()
    {
        var provider = new InMemoryProxyConfigProvider();

        Assert.False(provider.Current.IsLoaded);
        Assert.Equal(0, provider.Current.Revision);
        Assert.Empty(provider.Current.Images);
    }

    [Fact]
    public void Update_PublishesANewSnapshot_AndFiresThePreviousOnesChangeToken()
    {
        var provider = new InMemoryProxyConfigProvider();
        var first = provider.Current;
        var fired = 0;
        using var registration = first.ChangeToken.RegisterChangeCallback(_ => fired++, null);

        var second = provider.Update(Image("img", ("i1", 8001)));

        Assert.Same(second, provider.Current);
        Assert.True(second.IsLoaded);
        Assert.Equal(1, second.Revision);
        Assert.True(first.ChangeToken.HasChanged);
        Assert.False(second.ChangeToken.HasChanged);
        Assert.Equal(1, fired);
        Assert.Empty(first.Images); // the old snapshot did not change
        Assert.Equal("round_robin", second.Images["img"].Balancer.Algorithm);
    }

    [Fact]
    public void InvalidConfig_IsRefusedWithEveryProblem_AndTheOldSnapshotStays()
    {
        var provider = new InMemoryProxyConfigProvider();
        var good = provider.Update(Image("img", ("i1", 8001)));
        var endpoints = new EndpointSet { Image = "bad" };
        endpoints.Endpoints.Add(new ControlPlane.Api.V1.Endpoint { InstanceId = "x", Host = "", Port = 0 });
        endpoints.Endpoints.Add(new ControlPlane.Api.V1.Endpoint { InstanceId = "x", Host = "h", Port = 70000 });

        var error = Assert.Throws<InvalidProxyConfigException>(() =>
            provider.Update(new ImageConfig("bad", endpoints, new RoutingPolicy { Algorithm = "fastest" })));

        Assert.Contains(error.Errors, e => e.Contains("endpoints[0].host", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("endpoints[0].port", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("endpoints[1].instance_id: 'x' appears twice", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("endpoints[1].port", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("routing_policy.algorithm: 'fastest'", StringComparison.Ordinal));
        Assert.Same(good, provider.Current);
        Assert.False(good.ChangeToken.HasChanged);
    }

    [Fact]
    public void UnchangedImage_KeepsItsRoute_ChangedImageGetsANewBalancer()
    {
        var provider = new InMemoryProxyConfigProvider();
        var first = provider.Update(Image("a", ("i1", 8001)), Image("b", ("i2", 8002)));

        var second = provider.Update(Image("a", ("i1", 8001)), Image("b", ("i2", 8002), ("i3", 8003)));

        Assert.Same(first.Images["a"], second.Images["a"]);
        Assert.NotSame(first.Images["b"], second.Images["b"]);
        Assert.Equal(2, second.Images["b"].Balancer.Endpoints.Count);
    }

    [Fact]
    public void Patch_ChangesTheImagesItNames_AndLeavesEveryOtherAsItWas()
    {
        var provider = new InMemoryProxyConfigProvider();
        var first = provider.Update(Image("a", ("i1", 8001)), Image("b", ("i2", 8002)), Image("c", ("i3", 8003)));
        var fired = 0;
        using var registration = first.ChangeToken.RegisterChangeCallback(_ => fired++, null);

        var second = provider.Patch([Image("b", ("i2", 8002), ("i4", 8004)), Image("d", ("i5", 8005))], ["c", "never-held"]);

        Assert.Same(second, provider.Current);
        Assert.Equal(first.Revision + 1, second.Revision);
        Assert.Equal(1, fired);
        Assert.Equal(["a", "b", "d"], second.Images.Keys.Order(StringComparer.Ordinal));
        Assert.Same(first.Images["a"], second.Images["a"]);
        Assert.Equal(2, second.Images["b"].Balancer.Endpoints.Count);
        Assert.True(second.TryGetImage("d".AsSpan(), out var d) && d.Endpoints.Endpoints.Single().Port == 8005);
        Assert.Equal(["a", "b", "c"], first.Images.Keys.Order(StringComparer.Ordinal)); // the old snapshot did not change
        Assert.Single(first.Images["b"].Balancer.Endpoints);
    }

    [Fact]
    public void InvalidPatch_IsRefused_AndTheOldSnapshotStays()
    {
        var provider = new InMemoryProxyConfigProvider();
        var good = provider.Update(Image("a", ("i1", 8001)), Image("b", ("i2", 8002)));

        var error = Assert.Throws<InvalidProxyConfigException>(() =>
            provider.Patch([Image("a", ("i1", 0)), Image("c", ("i3", 8003)), Image("c", ("i4", 8004))], ["b"]));

        Assert.Contains(error.Errors, e => e.StartsWith("image 'a':", StringComparison.Ordinal) && e.Contains("port", StringComparison.Ordinal));
        Assert.Contains("image 'c': configured twice", error.Errors);
        Assert.Same(good, provider.Current);
        Assert.False(good.ChangeToken.HasChanged);
        Assert.Equal(["a", "b"], provider.Current.Images.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void VersionedImages_AreComparedByVersion()
    {
        var provider = new InMemoryProxyConfigProvider();
        var first = provider.Update(Image("a", ("i1", 8001)) with { EndpointsVersion = "v1" });

        var same = provider.Update(Image("a", ("i1", 8001)) with { EndpointsVersion = "v1" });
        var next = provider.Update(Image("a", ("i1", 8001)) with { EndpointsVersion = "v2" });

        Assert.Same(first.Images["a"], same.Images["a"]);
        Assert.NotSame(same.Images["a"], next.Images["a"]);
        Assert.Equal("v2", next.Images["a"].EndpointsVersion);
    }

    [Fact]
    public void EndpointsThatStay_KeepTheirRuntimeState_MovedOnesStartFresh()
    {
        var provider = new InMemoryProxyConfigProvider();
        var first = provider.Update(Image("a", ("i1", 8001), ("i2", 8002)));
        first.Images["a"].States[0].RequestStarted(); // a request in flight to i1

        var second = provider.Update(Image("a", ("i0", 8000), ("i1", 8001), ("i2", 9999)));

        var route = second.Images["a"];
        Assert.Same(first.Images["a"].States[0], route.States[1]); // i1: same instance, host and port
        Assert.Equal(1, route.States[1].Outstanding);
        Assert.NotSame(first.Images["a"].States[1], route.States[2]); // i2 moved to another port
        Assert.Same(first.Images["a"].Health, route.Health);
    }

    [Fact]
    public void ImagesLeftOut_AreRemoved()
    {
        var provider = new InMemoryProxyConfigProvider();
        provider.Update(Image("a", ("i1", 8001)), Image("b", ("i2", 8002)));

        var next = provider.Update(Image("b", ("i2", 8002)));

        Assert.False(next.TryGetImage("a", out _));
        Assert.True(next.TryGetImage("b".AsSpan(), out var b));
        Assert.Equal("b", b.Image);
    }

    [Fact]
    public void H2cMetadata_ChoosesHttp2Upstream()
    {
        var provider = new InMemoryProxyConfigProvider();
        var endpoints = new EndpointSet { Image = "a" };
        endpoints.Endpoints.Add(DataplaneFixture.EndpointOf("i1", 8001, protocol: "h2c"));
        endpoints.Endpoints.Add(DataplaneFixture.EndpointOf("i2", 8002, host: "::1"));
        var route = provider.Update(new ImageConfig("a", endpoints)).Images["a"];

        Assert.Equal(new Version(2, 0), route.Destinations[0].Version);
        Assert.Equal("http://[::1]:8002", route.Destinations[1].Origin);
        Assert.Equal(new Version(1, 1), route.Destinations[1].Version);
    }

    internal static ImageConfig Image(string image, params (string Id, int Port)[] endpoints)
    {
        var set = new EndpointSet { Image = image };
        foreach (var (id, port) in endpoints)
        {
            set.Endpoints.Add(new ControlPlane.Api.V1.Endpoint { InstanceId = id, Host = "127.0.0.1", Port = port, Weight = 1, Status = "healthy", Metadata = new Struct() });
        }
        return new ImageConfig(image, set);
    }
}
