using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Registration;
using ControlPlane.Sdk.Tests.Clients;
using ControlPlane.Sdk.Tests.Infrastructure;
using ControlPlane.Server.Registry;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Sdk.Tests.Registration;

/// <summary>
/// The registrar against the real control plane, both on one virtual clock: leases run out only
/// when the test moves time, so "kept alive" means renewed by the registrar, nothing else.
/// </summary>
public sealed class InstanceRegistrarTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly Channel<HeartbeatRound> _rounds = Channel.CreateUnbounded<HeartbeatRound>();
    private TestControlPlane _host = null!;
    private ControlPlaneClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await TestControlPlane.StartAsync(time: _time);
        _client = _host.CreateClient(time: _time);
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task TwoThousandInstances_KeptAliveOverOneStream_PastTwiceTheirTtl()
    {
        await using var registrar = CreateRegistrar();
        await registrar.AddAsync(Enumerable.Range(0, 2000).Select(i => TypedCallTests.Instance($"i{i}", 10_000 + i, ttl: 30))).DefaultTimeout();
        Assert.Equal(TimeSpan.FromSeconds(10), registrar.BeatInterval); // a third of the lease
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();

        for (var i = 0; i < 6; i++)
        {
            var round = await NextRoundAsync(TimeSpan.FromSeconds(10));
            Assert.Equal((2000, 0, 2), (round.Renewed, round.NotFound, round.Messages)); // 1000 ids per message
        }

        var healthy = await _client.Registry.ListServicesAsync(new ListServicesRequest { Status = "healthy" }).DefaultTimeout();
        Assert.Equal(2000, healthy.Instances.Count);
        Assert.All(healthy.Instances, i => Assert.Equal(_time.GetUtcNow(), i.LastHeartbeatAt.ToDateTimeOffset()));
        Assert.Empty((await _client.Registry.ListServicesAsync(new ListServicesRequest { Status = "expired" }).DefaultTimeout()).Instances);
        Assert.Equal(1, registrar.StreamsOpened);
        Assert.Single(_host.Calls.Of("HeartbeatStream"));
        Assert.Equal(2000, _host.Calls.Of("Register").Count);
    }

    [Fact]
    public async Task InstanceTheServerForgot_IsRegisteredAgain_OnTheNextRound()
    {
        await using var registrar = CreateRegistrar();
        await registrar.AddAsync([TypedCallTests.Instance("keep", 9401, ttl: 6), TypedCallTests.Instance("lost", 9402, ttl: 6)]).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();
        Assert.Equal(2, (await NextRoundAsync(TimeSpan.FromSeconds(2))).Renewed);

        // The control plane loses the instance behind the registrar's back (a replica lost its state).
        await _host.Services.GetRequiredService<ServiceRegistry>().DeregisterAsync(new DeregisterRequest { InstanceId = "lost" }).DefaultTimeout();

        var round = await NextRoundAsync(TimeSpan.FromSeconds(2));
        Assert.Equal((1, 1, 1), (round.Renewed, round.NotFound, round.Reregistered));
        var back = (await _client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "lost" }).DefaultTimeout()).Instance;
        Assert.Equal(("healthy", 9402, 6), (back.Status, back.Port, back.TtlSeconds));
        Assert.Equal(2, (await NextRoundAsync(TimeSpan.FromSeconds(2))).Renewed);
    }

    [Fact]
    public async Task ControlPlaneThatRestartedEmpty_RefusesTheStreamOnce_ThenEveryInstanceIsBack()
    {
        await using var registrar = CreateRegistrar();
        await registrar.AddAsync([TypedCallTests.Instance("e1", 9411, ttl: 3), TypedCallTests.Instance("e2", 9412, ttl: 3)]).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();

        // As after a restart of a control plane without shared storage: the first stream is refused
        // (still starting) and the registry is empty.
        _host.Calls.FailNext("HeartbeatStream", 1);
        var registry = _host.Services.GetRequiredService<ServiceRegistry>();
        await registry.DeregisterAsync(new DeregisterRequest { InstanceId = "e1" }).DefaultTimeout();
        await registry.DeregisterAsync(new DeregisterRequest { InstanceId = "e2" }).DefaultTimeout();
        var round = await NextRoundAsync(TimeSpan.FromSeconds(1));

        Assert.Equal((0, 2, 2), (round.Renewed, round.NotFound, round.Reregistered));
        Assert.Equal(2, registrar.StreamsOpened);
        var instances = (await _client.Registry.ListServicesAsync(new ListServicesRequest { Status = "healthy" }).DefaultTimeout()).Instances;
        Assert.Equal(["e1", "e2"], instances.Select(i => i.InstanceId));
        Assert.Equal(2, (await NextRoundAsync(TimeSpan.FromSeconds(1))).Renewed);
    }

    [Fact]
    public async Task RefusedStream_IsReopened_AndTheRoundCompletes()
    {
        await using var registrar = CreateRegistrar();
        await registrar.AddAsync([TypedCallTests.Instance("s1", 9421), TypedCallTests.Instance("s2", 9422)]).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();
        _host.Calls.FailNext("HeartbeatStream", 2);

        var round = await NextRoundAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, round.Renewed);
        Assert.Equal(3, registrar.StreamsOpened);
        Assert.Equal([true, true, false], _host.Calls.Of("HeartbeatStream").Select(c => c.Failed));
    }

    private InstanceRegistrar CreateRegistrar()
    {
        var registrar = new InstanceRegistrar(_client.Registry, new InstanceRegistrarOptions { DrainPeriod = TimeSpan.Zero }, _time, random: new ZeroRandom());
        registrar.RoundCompleted += (_, round) => _rounds.Writer.TryWrite(round);
        return registrar;
    }

    /// <summary>Moves the clock by <paramref name="by"/> (the registrar's timer fires on the way) and waits for the round it starts.</summary>
    private async Task<HeartbeatRound> NextRoundAsync(TimeSpan by)
    {
        _time.Advance(by);
        return await _rounds.Reader.ReadAsync().AsTask().DefaultTimeout();
    }
}
