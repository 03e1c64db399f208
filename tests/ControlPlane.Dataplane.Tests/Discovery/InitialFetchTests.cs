using System.Net;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// Envoy's initial fetch: a node whose control plane answers EndpointSet before RoutingPolicy must
/// not route a single request by round_robin for an image whose policy says otherwise; when a type
/// never answers, it goes ahead with what it has after InitialFetchTimeout.
/// </summary>
public sealed class InitialFetchTests : IAsyncLifetime
{
    private static readonly string E = DiscoveryState.EndpointSetType;
    private static readonly string P = DiscoveryState.RoutingPolicyType;
    private ScriptedControlPlane _controlPlane = null!;
    private TestBackend _backend = null!;

    public async ValueTask InitializeAsync()
    {
        _controlPlane = await ScriptedControlPlane.StartAsync();
        _backend = await TestBackend.StartAsync("b1");
    }

    public async ValueTask DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Fact]
    public async Task EndpointsBeforePolicy_NoSnapshotIsEverServedWithoutThePolicy()
    {
        var time = new ManualTimeProvider();
        await using var node = await StartNodeAsync(time);
        var published = Record(node.Config);
        var stream = await _controlPlane.NextStreamAsync();

        var ack = await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);

        Assert.Null(ack.ErrorDetail); // accepted (ACKed) ...
        Assert.False(node.Config.Current.IsLoaded); // ... but held: nothing routes yet
        using var http = node.CreateClient();
        using (var response = await http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        time.Advance(TimeSpan.FromSeconds(4)); // within the 5 s initial fetch
        Assert.False(node.Config.Current.IsLoaded);

        ack = await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.WeightedRoundRobin)]);

        Assert.Null(ack.ErrorDetail);
        var first = Assert.Single(published);
        Assert.Equal(LoadBalancingAlgorithms.WeightedRoundRobin, first.Images["img"].Balancer.Algorithm);
        using (var response = await http.GetAsync("/g/img/x").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Contains(node.Logs.Records, r => r.EventId.Id == 2509);
    }

    [Fact]
    public async Task PolicyNeverAnswers_NodeGoesAheadAfterTheTimeout_AndLaterPoliciesApplyAtOnce()
    {
        var time = new ManualTimeProvider();
        await using var node = await StartNodeAsync(time);
        var stream = await _controlPlane.NextStreamAsync();
        await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);
        Assert.False(node.Config.Current.IsLoaded);

        time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(node.Config.Current.IsLoaded);
        Assert.Equal(LoadBalancingAlgorithms.RoundRobin, node.Config.Current.Images["img"].Balancer.Algorithm);
        var timedOut = Assert.Single(node.Logs.Records, r => r.EventId.Id == 2510);
        Assert.Contains("RoutingPolicy", timedOut.Message, StringComparison.Ordinal);

        await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.LeastConn)]);

        Assert.Equal(LoadBalancingAlgorithms.LeastConn, node.Config.Current.Images["img"].Balancer.Algorithm);
    }

    [Fact]
    public async Task RejectedPolicy_EndsTheWait_WithTheEndpointsHeld()
    {
        await using var node = await StartNodeAsync(new ManualTimeProvider());
        var stream = await _controlPlane.NextStreamAsync();
        await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);

        var nack = await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", "random_pick")]);

        Assert.NotNull(nack.ErrorDetail);
        Assert.True(node.Config.Current.IsLoaded); // the type answered: Envoy releases its init target on a rejected update too
        Assert.Equal(["img"], node.Config.Current.Images.Keys);
    }

    [Fact]
    public async Task HeldConfig_IsNotPersisted_UntilPublished()
    {
        var directory = Directory.CreateTempSubdirectory("dp-initial-").FullName;
        try
        {
            var store = new RecordingStore(directory);
            await using var node = await StartNodeAsync(new ManualTimeProvider(), store, $"--Dataplane:StateDirectory={directory}");
            var stream = await _controlPlane.NextStreamAsync();
            var client = node.Services.GetRequiredService<DiscoveryClient>();

            await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);
            await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.ConsistentHash, "user")]);

            // The first write holds both: a restarted node must not serve the endpoints without their policy either.
            Assert.Equal(["img=v1", "img=v1"], (await store.NextWriteAsync()).Versions);
            await Eventually.WaitAsync("the write to end", () => client.LastKnownGoodWrittenAt is not null);
            Assert.Equal(2, new LastKnownGoodStore(directory).Load()!.Count);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private Task<DataplaneFixture> StartNodeAsync(TimeProvider time, params string[] args) => StartNodeAsync(time, null, args);

    private Task<DataplaneFixture> StartNodeAsync(TimeProvider time, RecordingStore? store, params string[] args) => DataplaneFixture.StartAsync(
        builder =>
        {
            builder.Services.AddSingleton(time);
            store?.UseIn(builder);
        },
        [$"--Dataplane:ControlPlanes:0={_controlPlane.Address}", "--Dataplane:NodeId=node-initial", .. args]);

    /// <summary>Every snapshot the provider publishes from now on, in order (change tokens fire after each swap).</summary>
    private static List<ProxyConfig> Record(InMemoryProxyConfigProvider provider)
    {
        var seen = new List<ProxyConfig>();
        void Watch(ProxyConfig current) => current.ChangeToken.RegisterChangeCallback(_ =>
        {
            var next = provider.Current;
            lock (seen)
            {
                seen.Add(next);
            }
            Watch(next);
        }, null);
        Watch(provider.Current);
        return seen;
    }
}
