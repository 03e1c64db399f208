using System.Net;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A control plane that accepts the stream and never answers (hung, or a frozen process whose kernel
/// still takes the connection) must not pin the node: past FirstResponseTimeout it moves to the next
/// address, and a stream restarted because it did not answer (the last-known-good file was loaded)
/// goes to the next address too, not back to the silent one.
/// </summary>
public sealed class SilentControlPlaneTests : IAsyncLifetime
{
    private static readonly string E = DiscoveryState.EndpointSetType;
    private static readonly string P = DiscoveryState.RoutingPolicyType;
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("dp-silent-").FullName;
    private ScriptedControlPlane _silent = null!;
    private ScriptedControlPlane _healthy = null!;
    private TestBackend _backend = null!;

    public async ValueTask InitializeAsync()
    {
        _silent = await ScriptedControlPlane.StartAsync();
        _healthy = await ScriptedControlPlane.StartAsync();
        _backend = await TestBackend.StartAsync("b1");
    }

    public async ValueTask DisposeAsync()
    {
        await _silent.DisposeAsync();
        await _healthy.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    [Fact]
    public async Task FirstControlPlaneNeverAnswers_NodeTriesTheNextAfterFirstResponseTimeout()
    {
        var time = new ManualTimeProvider();
        await using var node = await StartNodeAsync(time);
        using var http = node.CreateClient();
        await _silent.NextStreamAsync(); // taken, never answered

        time.Advance(TimeSpan.FromSeconds(10));

        var stream = await _healthy.NextStreamAsync();
        await stream.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))]);
        await stream.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.RoundRobin)]);
        using (var response = await http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        Assert.Equal(_healthy.Address, node.Services.GetRequiredService<DiscoveryClient>().ConnectedControlPlane);
        var ended = Assert.Single(node.Logs.Records, r => r.EventId.Id == 2502);
        Assert.Contains(_silent.Address, ended.Message, StringComparison.Ordinal);
        Assert.Contains("no response within 00:00:10", ended.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamRestartedForTheLastKnownGood_GoesToTheNextAddress()
    {
        new LastKnownGoodStore(_stateDirectory).Save([ScriptedControlPlane.EndpointSet("img", "v1", ("b1", _backend.Port))], "");
        var time = new ManualTimeProvider();
        await using var node = await StartNodeAsync(time, $"--Dataplane:StateDirectory={_stateDirectory}", "--Dataplane:LastKnownGoodAfter=00:00:03");
        await _silent.NextStreamAsync();

        time.Advance(TimeSpan.FromSeconds(3)); // the file is served; the unanswered stream restarts to announce it

        var stream = await _healthy.NextStreamAsync(); // well before FirstResponseTimeout: not back to the silent one
        Assert.Equal("v1", stream.Subscriptions.Single(s => s.TypeUrl == E).InitialResourceVersions["img"]);
    }

    private Task<DataplaneFixture> StartNodeAsync(TimeProvider time, params string[] args) => DataplaneFixture.StartAsync(
        builder =>
        {
            builder.Services.AddSingleton(time);
            builder.Services.AddSingleton<Random>(new FixedRandom(0)); // the first address first, no reconnect delay
        },
        [$"--Dataplane:ControlPlanes:0={_silent.Address}", $"--Dataplane:ControlPlanes:1={_healthy.Address}", "--Dataplane:NodeId=node-silent", .. args]);
}
