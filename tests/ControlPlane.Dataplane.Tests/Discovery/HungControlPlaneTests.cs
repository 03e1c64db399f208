using System.Diagnostics;
using System.Net;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A control plane that hangs after it has answered (a stopped or swapping process, a partition):
/// its connection stays open and nothing comes back, so no error ever reaches the node. The
/// connection's keepalive PING goes unanswered, the stream ends UNAVAILABLE and the node resumes on
/// the next control plane (announcing what it holds) within the keepalive interval and timeout,
/// serving throughout.
/// </summary>
public sealed class HungControlPlaneTests : IAsyncLifetime
{
    private static readonly string E = DiscoveryState.EndpointSetType;
    private static readonly string P = DiscoveryState.RoutingPolicyType;
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(1);
    private ScriptedControlPlane _hanging = null!;
    private ScriptedControlPlane _next = null!;
    private TcpRelay _relay = null!;
    private TestBackend _backend = null!;

    public async ValueTask InitializeAsync()
    {
        _hanging = await ScriptedControlPlane.StartAsync();
        _next = await ScriptedControlPlane.StartAsync();
        _relay = TcpRelay.Start(new Uri(_hanging.Address).Port);
        _backend = await TestBackend.StartAsync("b1");
    }

    public async ValueTask DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _hanging.DisposeAsync();
        await _next.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Fact]
    public async Task ControlPlaneHangsAfterAnswering_NodeMovesToTheNextWithinTheKeepAlive_AndServesThroughout()
    {
        var hanging = $"http://127.0.0.1:{_relay.Port}";
        await using var node = await DataplaneFixture.StartAsync(
            builder => builder.Services.AddSingleton<Random>(new FixedRandom(0)), // the first address first, no reconnect delay
            [$"--Dataplane:ControlPlanes:0={hanging}", $"--Dataplane:ControlPlanes:1={_next.Address}", "--Dataplane:NodeId=node-hung",
             $"--Dataplane:ControlPlaneKeepAliveInterval={KeepAlive}", $"--Dataplane:ControlPlaneKeepAliveTimeout={KeepAlive}"]);
        using var http = node.CreateClient();
        var stream = await _hanging.NextStreamAsync();
        await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);
        await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.RoundRobin)]);
        var discovery = node.Services.GetRequiredService<DiscoveryClient>();
        Assert.Equal(hanging, discovery.ConnectedControlPlane);

        _relay.Cut();
        var cut = Stopwatch.StartNew();
        var resumed = await _next.NextStreamAsync();
        var elapsed = cut.Elapsed;

        // Within one keepalive interval and timeout (and the reconnect), not TCP's minutes.
        Assert.True(elapsed < KeepAlive + KeepAlive + TimeSpan.FromSeconds(3), $"the node opened its stream to the next control plane {elapsed} after the first hung");
        Assert.Equal("v1", resumed.Subscriptions.Single(s => s.TypeUrl == E).InitialResourceVersions["img"]);
        var ended = Assert.Single(node.Logs.Records, r => r.EventId.Id == 2502);
        Assert.Contains(hanging, ended.Message, StringComparison.Ordinal);
        Assert.Contains("Unavailable", ended.Message, StringComparison.Ordinal);
        Assert.Contains("keepalive", ended.Message, StringComparison.Ordinal);
        using var proxied = await http.GetAsync("/g/img/").DefaultTimeout(); // held configuration, still served
        Assert.Equal(HttpStatusCode.OK, proxied.StatusCode);
    }
}
