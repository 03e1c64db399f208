using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Discovery;
using ControlPlane.Sdk.Registration;
using ControlPlane.Sdk.Tests.Clients;
using ControlPlane.Sdk.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Tests.Discovery;

/// <summary>The watcher against the real control plane's delta stream: changes, removals, rejections, failover with resume.</summary>
public sealed class DiscoveryWatcherTests : IAsyncLifetime
{
    private const string Token = "sdk-watch-token";
    private TestControlPlane _host = null!;
    private ControlPlaneClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await TestControlPlane.StartAsync(platformToken: Token);
        _client = _host.CreateClient(environment: n => n == "PLATFORM_TOKEN" ? Token : null);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Watcher_SeesRegistrationsPolicyDrainingAndRemovals()
    {
        await using var watcher = new DiscoveryWatcher(_client.Discovery, new DiscoveryWatcherOptions { NodeId = "sdk-watch-1" });
        await watcher.StartAsync(CancellationToken.None);
        await watcher.WaitForAsync(s => s.Generation >= 2).DefaultTimeout(); // both types answered, with nothing

        await _client.Registry.RegisterAsync(TypedCallTests.Instance("w1", 9501, "img.w")).DefaultTimeout();
        await _client.Registry.RegisterAsync(TypedCallTests.Instance("w2", 9502, "img.w")).DefaultTimeout();
        var two = await watcher.WaitForAsync(s => s.EndpointSets.TryGetValue("img.w", out var e) && e.Endpoints.Count == 2).DefaultTimeout();
        Assert.Equal(["w1", "w2"], two.EndpointSets["img.w"].Endpoints.Select(e => e.InstanceId));
        Assert.Equal(9502, two.EndpointSets["img.w"].Endpoints[1].Port);

        await _client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.w", Algorithm = "weighted_rr", Weights = { ["w1"] = 3 } }).DefaultTimeout();
        var policy = (await watcher.WaitForAsync(s => s.RoutingPolicies.ContainsKey("img.w")).DefaultTimeout()).RoutingPolicies["img.w"];
        Assert.Equal(("weighted_rr", 3), (policy.Algorithm, policy.Weights["w1"]));

        await _client.Registry.DrainInstanceAsync(new DrainInstanceRequest { InstanceId = "w1" }).DefaultTimeout();
        await watcher.WaitForAsync(s => s.EndpointSets["img.w"].Endpoints.Single(e => e.InstanceId == "w1").Status == "draining").DefaultTimeout();

        await _client.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "w1" }).DefaultTimeout();
        await watcher.WaitForAsync(s => s.EndpointSets["img.w"].Endpoints.Count == 1).DefaultTimeout();
        await _client.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "w2" }).DefaultTimeout();
        await _client.Policies.DeletePolicyAsync(new DeletePolicyRequest { Image = "img.w" }).DefaultTimeout();
        var empty = await watcher.WaitForAsync(s => !s.EndpointSets.ContainsKey("img.w") && !s.RoutingPolicies.ContainsKey("img.w")).DefaultTimeout();

        Assert.Empty(empty.EndpointSets);
        Assert.Equal(0, watcher.Nacks);
        Assert.Equal(_host.Grpc, watcher.ConnectedAddress);
        var node = (await _client.Dataplanes.GetDataplaneAsync(new GetDataplaneRequest { NodeId = "sdk-watch-1" }).DefaultTimeout()).Dataplane;
        Assert.Equal(("controlplane-sdk", "delta"), (node.Node.UserAgentName, node.StreamKind));
    }

    [Fact]
    public async Task ResponseFailingTheCallersCheck_IsRejected_AndTheSnapshotKept()
    {
        var options = new DiscoveryWatcherOptions
        {
            NodeId = "sdk-watch-2",
            // "My balancer has no least_conn."
            Validate = s => [.. s.RoutingPolicies.Values.Where(p => p.Algorithm == "least_conn").Select(p => $"routing_policy '{p.Image}': least_conn is not supported here")],
        };
        await using var watcher = new DiscoveryWatcher(_client.Discovery, options);
        var rejected = new TaskCompletionSource<DiscoveryRejection>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Rejected += (_, r) => rejected.TrySetResult(r);
        await watcher.StartAsync(CancellationToken.None);
        await _client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.n", Algorithm = "round_robin" }).DefaultTimeout();
        var before = await watcher.WaitForAsync(s => s.RoutingPolicies.ContainsKey("img.n")).DefaultTimeout();

        await _client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.n", Algorithm = "least_conn" }).DefaultTimeout();
        var rejection = await rejected.Task.DefaultTimeout();

        Assert.Equal(ResourceTypeUrls.RoutingPolicy, rejection.TypeUrl);
        Assert.Contains("least_conn is not supported here", rejection.Error, StringComparison.Ordinal);
        Assert.Same(before, watcher.Current);
        Assert.Equal("round_robin", watcher.Current.RoutingPolicies["img.n"].Algorithm);
        Assert.Equal(1, watcher.Nacks);
    }

    [Fact]
    public async Task ControlPlaneGone_WatcherFailsOverToTheNext_WhichRemovesWhatItDoesNotHave()
    {
        var first = await TestControlPlane.StartAsync();
        // Another embedded store, not the first restarted: no restart hold (a node from the first would
        // otherwise be asked to keep what it holds for the second's first 30 s).
        await using var second = await TestControlPlane.StartAsync(args: "--ControlPlane:Discovery:RestartHold=00:00:00");
        using (var firstClient = first.CreateClient())
        {
            await firstClient.Registry.RegisterAsync(TypedCallTests.Instance("a1", 9602, "img.a")).DefaultTimeout();
        }
        using (var secondClient = second.CreateClient())
        {
            await secondClient.Registry.RegisterAsync(TypedCallTests.Instance("b1", 9601, "img.b")).DefaultTimeout();
        }
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(first.Grpc);
        options.Addresses.Add(second.Grpc);
        var logs = new TestLogSink();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        using var client = ControlPlaneClient.Create(options, loggerFactory: loggers);
        await using var watcher = new DiscoveryWatcher(client.Discovery, new DiscoveryWatcherOptions { NodeId = "sdk-watch-3", ReconnectBaseDelay = TimeSpan.FromMilliseconds(10) },
            logger: loggers.CreateLogger<DiscoveryWatcher>(), random: new ZeroRandom());
        await watcher.StartAsync(CancellationToken.None);
        await watcher.WaitForAsync(s => s.EndpointSets.ContainsKey("img.a")).DefaultTimeout();

        await first.DisposeAsync();

        // The second control plane never had img.a: told the watcher holds it, it answers with its removal.
        DiscoverySnapshot after;
        try
        {
            after = await watcher.WaitForAsync(s => s.EndpointSets.ContainsKey("img.b") && !s.EndpointSets.ContainsKey("img.a")).DefaultTimeout();
        }
        catch (TimeoutException)
        {
            Assert.Fail($"connected to {watcher.ConnectedAddress}, holding {string.Join(",", watcher.Current.EndpointSets.Keys)}:{Environment.NewLine}{string.Join(Environment.NewLine, logs.Records)}");
            throw;
        }
        Assert.Equal(second.Grpc, watcher.ConnectedAddress);
        Assert.Equal("b1", Assert.Single(after.EndpointSets["img.b"].Endpoints).InstanceId);
        Assert.Single(second.Calls.Of("DeltaResources"));
    }

    [Fact]
    public async Task RegistrarStop_DrainsEveryInstance_ThenDeregistersThem()
    {
        await using var watcher = new DiscoveryWatcher(_client.Discovery, new DiscoveryWatcherOptions { NodeId = "sdk-watch-4" });
        var seen = new ConcurrentQueue<DiscoverySnapshot>();
        watcher.Changed += (_, s) => seen.Enqueue(s);
        await watcher.StartAsync(CancellationToken.None);
        var registrar = new InstanceRegistrar(_client.Registry, new InstanceRegistrarOptions { DrainPeriod = TimeSpan.FromSeconds(1) });
        await registrar.AddAsync([TypedCallTests.Instance("d1", 9701, "img.d"), TypedCallTests.Instance("d2", 9702, "img.d"), TypedCallTests.Instance("d3", 9703, "img.d")]).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None);
        await watcher.WaitForAsync(s => s.EndpointSets.TryGetValue("img.d", out var e) && e.Endpoints.Count == 3).DefaultTimeout();

        await registrar.StopAsync(CancellationToken.None).DefaultTimeout();
        await watcher.WaitForAsync(s => !s.EndpointSets.ContainsKey("img.d")).DefaultTimeout();

        // What a dataplane saw: all three draining (no new traffic) before any was removed.
        var sets = seen.Select(s => s.EndpointSets.GetValueOrDefault("img.d")).ToList();
        var allDraining = sets.FindIndex(e => e is { Endpoints.Count: 3 } && e.Endpoints.All(x => x.Status == "draining"));
        Assert.True(allDraining >= 0, "the watcher never saw all three instances draining");
        var firstThree = sets.FindIndex(e => e is { Endpoints.Count: 3 });
        Assert.All(sets.Skip(firstThree).Take(allDraining - firstThree), e => Assert.Equal(3, e?.Endpoints.Count)); // none removed before
        var calls = _host.Calls.All.Where(c => c.Method is "DrainInstance" or "Deregister").Select(c => c.Method).ToList();
        Assert.Equal(["DrainInstance", "DrainInstance", "DrainInstance", "Deregister", "Deregister", "Deregister"], calls);
        Assert.Empty((await _client.Registry.ListServicesAsync(new ListServicesRequest { Image = "img.d" }).DefaultTimeout()).Instances);
        await registrar.DisposeAsync();
    }
}
