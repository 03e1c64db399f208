using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>The discovery client's apply logic: validation, NACK messages, keeping the last good config, the on-disk copy.</summary>
public sealed class DiscoveryStateTests
{
    private readonly InMemoryProxyConfigProvider _provider = new();
    private readonly DiscoveryState _state;

    public DiscoveryStateTests() => _state = new DiscoveryState(_provider, LoadBalancingPolicies.Default);

    [Fact]
    public void ValidResponse_IsPublishedWithItsVersions()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", "v1", 8080)], []));
        Assert.Null(_state.Apply(DiscoveryState.RoutingPolicyType, [Policy("img", "p1", "least_conn")], []));

        var route = _provider.Current.Images["img"];
        Assert.Equal("v1", route.EndpointsVersion);
        Assert.Equal("p1", route.PolicyVersion);
        Assert.Equal("least_conn", route.Balancer.Algorithm);
        Assert.True(_state.HasLiveConfig);
        Assert.Equal(new Dictionary<string, string> { ["img"] = "v1" }, _state.Versions(DiscoveryState.EndpointSetType));
    }

    [Fact]
    public void ADeltaChangesOnlyTheImagesItNames_AndARemovedSetLeavesTheImagesPolicy()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("a", "a1", 8080), Endpoints("b", "b1", 8081), Endpoints("c", "c1", 8082)], []));
        Assert.Null(_state.Apply(DiscoveryState.RoutingPolicyType, [Policy("c", "p1", "least_conn")], []));
        var before = _provider.Current;

        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("a", "a2", 9090)], ["b", "c"]));

        var after = _provider.Current;
        Assert.Equal(before.Revision + 1, after.Revision);
        Assert.Equal(["a", "c"], after.Images.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("a2", after.Images["a"].EndpointsVersion);
        Assert.Equal(9090, after.Images["a"].Endpoints.Endpoints.Single().Port);
        Assert.Null(after.Images["c"].EndpointsVersion);
        Assert.Empty(after.Images["c"].Endpoints.Endpoints);
        Assert.Equal("least_conn", after.Images["c"].Balancer.Algorithm);

        Assert.Null(_state.Apply(DiscoveryState.RoutingPolicyType, [], ["c"]));
        Assert.Same(after.Images["a"], _provider.Current.Images["a"]);
        Assert.Equal(["a"], _provider.Current.Images.Keys);
    }

    [Fact]
    public void InvalidEndpoint_IsNackedNamingResourceAndField_AndOldConfigStays()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", "v1", 8080), Endpoints("other", "o1", 9000)], []));
        var before = _provider.Current;

        var error = _state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", "v2", 0), Endpoints("other", "o2", 9001)], []);

        Assert.NotNull(error);
        Assert.Equal(3, error.Code); // INVALID_ARGUMENT
        Assert.Contains("EndpointSet 'img'", error.Message, StringComparison.Ordinal);
        Assert.Contains("version 'v2'", error.Message, StringComparison.Ordinal);
        Assert.Contains("endpoint_set.endpoints[0].port: 0 is not 1-65535", error.Message, StringComparison.Ordinal);
        Assert.Same(before, _provider.Current); // nothing published, not even the valid 'other'
        Assert.Equal(new Dictionary<string, string> { ["img"] = "v1", ["other"] = "o1" }, _state.Versions(DiscoveryState.EndpointSetType));
    }

    [Fact]
    public void UnknownAlgorithm_IsNacked()
    {
        var error = _state.Apply(DiscoveryState.RoutingPolicyType, [Policy("img", "p1", "random_pick")], []);

        Assert.NotNull(error);
        Assert.Contains("RoutingPolicy 'img'", error.Message, StringComparison.Ordinal);
        Assert.Contains("routing_policy.algorithm: 'random_pick' is not one of", error.Message, StringComparison.Ordinal);
        Assert.False(_provider.Current.IsLoaded);
        Assert.False(_state.HasLiveConfig);
    }

    [Fact]
    public void WrongAnyType_AndUndecodableValue_AreNacked()
    {
        var wrongType = Endpoints("a", "v1", 80);
        wrongType.Resource_ = Any.Pack(new RoutingPolicy { Image = "a" });
        var garbage = new Resource { Name = "b", Version = "v1", Resource_ = new Any { TypeUrl = DiscoveryState.EndpointSetType, Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF) } };

        var error = _state.Apply(DiscoveryState.EndpointSetType, [wrongType, garbage], []);

        Assert.NotNull(error);
        Assert.Contains("EndpointSet 'a' (resources[0], version 'v1') resource.type_url", error.Message, StringComparison.Ordinal);
        Assert.Contains("EndpointSet 'b' (resources[1], version 'v1') resource.value: not a valid EndpointSet", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownType_IsNacked()
    {
        var error = _state.Apply("type.googleapis.com/controlplane.v1.Nope", [], []);
        Assert.NotNull(error);
        Assert.Contains("type_url", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEndpointSetWithoutEndpoints_IsAccepted_AndKeepsTheImageKnown_UntilItIsRemoved()
    {
        // What the control plane sends for an image whose instances all expired (their records retained).
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("img", "v1", 8080)], []));
        var empty = new Resource { Name = "img", Version = "v2", Resource_ = Any.Pack(new EndpointSet { Image = "img" }) };

        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [empty], []));

        var route = _provider.Current.Images["img"]; // known (503 no_routable_endpoint), not unknown (404)
        Assert.Empty(route.Endpoints.Endpoints);
        Assert.Equal("v2", route.EndpointsVersion);
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [], ["img"]));
        Assert.False(_provider.Current.Images.ContainsKey("img"));
    }

    [Fact]
    public void SameResourcesAgain_AreAcked_WithoutANewRevision()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("a", "v1", 80), Endpoints("b", "v1", 81)], [], out var published));
        Assert.True(published);
        var before = _provider.Current;

        // A resend on a new stream, with a removal of what is not held: nothing changes.
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("b", "v1", 81)], ["gone"], out published));

        Assert.False(published);
        Assert.Same(before, _provider.Current);
        // Same version, other content: a change (resources are compared whole).
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("b", "v1", 82)], [], out published));
        Assert.True(published);
        Assert.Equal(before.Revision + 1, _provider.Current.Revision);
    }

    [Fact]
    public void Removal_DropsTheImage()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("a", "v1", 80), Endpoints("b", "v1", 81)], []));
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [], ["a"]));

        Assert.Equal(["b"], _provider.Current.Images.Keys);
    }

    [Fact]
    public void LastKnownGood_RoundTripsThroughTheFile()
    {
        var directory = Directory.CreateTempSubdirectory("dp-lkg-").FullName;
        try
        {
            Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("a", "v1", 80)], []));
            Assert.Null(_state.Apply(DiscoveryState.RoutingPolicyType, [Policy("a", "p1", "weighted_rr")], []));
            var store = new LastKnownGoodStore(directory);
            store.Save(_state.Resources());
            Assert.Equal([LastKnownGoodStore.FileName], Directory.GetFiles(directory).Select(Path.GetFileName)); // no temp file left

            var restarted = new InMemoryProxyConfigProvider();
            var state = new DiscoveryState(restarted, LoadBalancingPolicies.Default);
            Assert.Empty(state.LoadLastKnownGood(store.Load()!)!);

            Assert.Equal("v1", restarted.Current.Images["a"].EndpointsVersion);
            Assert.Equal("weighted_rr", restarted.Current.Images["a"].Balancer.Algorithm);
            Assert.False(state.HasLiveConfig);
            Assert.Equal(new Dictionary<string, string> { ["a"] = "p1" }, state.Versions(DiscoveryState.RoutingPolicyType));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void LastKnownGood_IsNotLoadedOverALiveConfig()
    {
        Assert.Null(_state.Apply(DiscoveryState.EndpointSetType, [Endpoints("live", "v1", 80)], []));

        Assert.Null(_state.LoadLastKnownGood([Endpoints("old", "v0", 80)]));
        Assert.Equal(["live"], _provider.Current.Images.Keys);
    }

    internal static Resource Endpoints(string image, string version, int port)
    {
        var set = new EndpointSet { Image = image };
        set.Endpoints.Add(DataplaneFixture.EndpointOf(image + "-1", port));
        return new Resource { Name = image, Version = version, Resource_ = Any.Pack(set) };
    }

    internal static Resource Policy(string image, string version, string algorithm) =>
        new() { Name = image, Version = version, Resource_ = Any.Pack(new RoutingPolicy { Image = image, Algorithm = algorithm }) };
}
