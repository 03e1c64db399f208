using System.Diagnostics;
using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Registration;
using ControlPlane.Sdk.Tests.Clients;
using ControlPlane.Sdk.Tests.Infrastructure;

namespace ControlPlane.Sdk.Tests.Registration;

/// <summary>
/// A control plane stopping ends its heartbeat streams at once (UNAVAILABLE); one that falls silent
/// (hung, or cut off by the network) is given up on when a round goes unanswered. Either way the
/// registrar moves to the next replica, which does not know the instance (no shared store here) and
/// gets it registered.
/// </summary>
public sealed class RegistrarFailoverTests
{
    [Fact]
    public async Task ReplicaStopping_RegistrarMovesToTheNext_AndRegistersTheInstanceThere()
    {
        var first = await TestControlPlane.StartAsync();
        await using var second = await TestControlPlane.StartAsync();
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(first.Grpc);
        options.Addresses.Add(second.Grpc);
        using var client = ControlPlaneClient.Create(options);
        var rounds = Channel.CreateUnbounded<HeartbeatRound>();
        await using var registrar = new InstanceRegistrar(client.Registry, new InstanceRegistrarOptions { BeatInterval = TimeSpan.FromMilliseconds(100), DrainPeriod = TimeSpan.Zero }, random: new ZeroRandom());
        registrar.RoundCompleted += (_, r) => rounds.Writer.TryWrite(r);
        await registrar.AddAsync(TypedCallTests.Instance("m1", 9901)).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();
        Assert.Equal(first.Grpc, (await rounds.Reader.ReadAsync().AsTask().DefaultTimeout()).Address);

        var stopping = Stopwatch.StartNew();
        await first.DisposeAsync();
        stopping.Stop();

        HeartbeatRound round;
        do
        {
            round = await rounds.Reader.ReadAsync().AsTask().DefaultTimeout();
        }
        while (round.Address != second.Grpc || round.Reregistered == 0);
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping the replica took {stopping.Elapsed} (held by the heartbeat stream)");
        Assert.Equal((0, 1, 1), (round.Renewed, round.NotFound, round.Reregistered));
        using var secondClient = second.CreateClient();
        Assert.Equal("healthy", (await secondClient.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "m1" }).DefaultTimeout()).Instance.Status);
        Assert.Single(second.Calls.Of("HeartbeatStream")); // one stream to the new replica, kept
        await registrar.StopAsync(CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task ReplicaFallsSilent_RoundGivesUpAfterAnswerTimeout_AndBeatsThroughTheNext()
    {
        await using var first = await TestControlPlane.StartAsync();
        await using var second = await TestControlPlane.StartAsync();
        await using var relay = TcpRelay.Start(first.Grpc.Port);
        var throughRelay = new Uri($"http://127.0.0.1:{relay.Port}");
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(throughRelay);
        options.Addresses.Add(second.Grpc);
        using var client = ControlPlaneClient.Create(options);
        var rounds = Channel.CreateUnbounded<HeartbeatRound>();
        var failures = Channel.CreateUnbounded<HeartbeatFailure>();
        var answerTimeout = TimeSpan.FromSeconds(1);
        await using var registrar = new InstanceRegistrar(client.Registry, new InstanceRegistrarOptions
        {
            BeatInterval = TimeSpan.FromMilliseconds(100),
            AnswerTimeout = answerTimeout,
            DrainPeriod = TimeSpan.Zero,
        }, random: new ZeroRandom());
        registrar.RoundCompleted += (_, r) => rounds.Writer.TryWrite(r);
        registrar.RoundFailed += (_, f) => failures.Writer.TryWrite(f);
        await registrar.AddAsync(TypedCallTests.Instance("m1", 9901)).DefaultTimeout();
        await registrar.StartAsync(CancellationToken.None).DefaultTimeout();
        Assert.Equal(throughRelay, (await rounds.Reader.ReadAsync().AsTask().DefaultTimeout()).Address);

        relay.Cut(); // the connection stays open; nothing comes back
        var cut = Stopwatch.StartNew();

        var failure = await failures.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.Equal(throughRelay, failure.Address);
        Assert.Equal($"Unavailable: no heartbeat answer from {throughRelay} within {answerTimeout}", failure.Reason);
        HeartbeatRound round;
        do
        {
            round = await rounds.Reader.ReadAsync().AsTask().DefaultTimeout();
        }
        while (round.Address != second.Grpc);
        // One answer timeout after the last answered round, plus the round then due: not the keepalive's 15 s.
        Assert.True(cut.Elapsed < answerTimeout + TimeSpan.FromSeconds(3), $"the first round through the next replica came {cut.Elapsed} after the cut");
        Assert.Equal((0, 1, 1), (round.Renewed, round.NotFound, round.Reregistered));
        Assert.False(failures.Reader.TryRead(out var another), $"a second failed round: {another?.Address} {another?.Reason}"); // straight to the next address
        await registrar.StopAsync(CancellationToken.None).DefaultTimeout();
    }
}
