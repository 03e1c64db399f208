using ControlPlane.Dataplane.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A control plane that answers and then drops every stream: the node's reconnect delays keep
/// growing (only a stream that lasted resets them), and the same resources sent again on every new
/// stream make no new config revision and no last-known-good write.
/// </summary>
public sealed class FlappingControlPlaneTests : IAsyncLifetime
{
    private static readonly string E = DiscoveryState.EndpointSetType;
    private static readonly string P = DiscoveryState.RoutingPolicyType;
    private ScriptedControlPlane _controlPlane = null!;

    public async ValueTask InitializeAsync() => _controlPlane = await ScriptedControlPlane.StartAsync();

    public async ValueTask DisposeAsync() => await _controlPlane.DisposeAsync();

    [Fact]
    public async Task StreamsThatAnswerAndDrop_KeepTheDelaysGrowing_UntilOneLasts()
    {
        var clock = new SteppedClock();
        await using var node = await DataplaneFixture.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(clock);
                builder.Services.AddSingleton<Random>(new FixedRandom(0.5)); // each delay half its bound
            },
            $"--Dataplane:ControlPlanes:0={_controlPlane.Address}",
            "--Dataplane:NodeId=node-flapping",
            "--Dataplane:InitialFetchTimeout=00:00:00",
            "--Dataplane:ReconnectBaseDelay=00:00:00.002",
            "--Dataplane:ReconnectMaxDelay=00:00:01");

        for (var i = 0; i < 3; i++)
        {
            var flap = await _controlPlane.NextStreamAsync();
            Assert.Null((await flap.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080))])).ErrorDetail);
            flap.End();
        }
        var lasting = await _controlPlane.NextStreamAsync();
        await lasting.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080))]);
        clock.Advance(TimeSpan.FromSeconds(30)); // BackoffResetAfter
        lasting.End();
        await _controlPlane.NextStreamAsync(); // the last delay was logged before it opened

        var delays = node.Logs.Records.Where(r => r.EventId.Id == 2502).Select(r => r.Message[(r.Message.LastIndexOf(' ') + 1)..]).ToArray();
        // Bounds 2, 4, 8 ms for the streams that dropped at once; back to 2 ms after the one that lasted.
        Assert.Equal(["00:00:00.0010000", "00:00:00.0020000", "00:00:00.0040000", "00:00:00.0010000"], delays);
    }

    [Fact]
    public async Task SameResourcesOnANewStream_NoNewRevision_AndTheFileIsNotRewritten()
    {
        var directory = Directory.CreateTempSubdirectory("dp-flapping-").FullName;
        try
        {
            var store = new RecordingStore(directory);
            await using var node = await DataplaneFixture.StartAsync(
                builder =>
                {
                    builder.Services.AddSingleton<Random>(new FixedRandom(0));
                    store.UseIn(builder);
                },
                $"--Dataplane:ControlPlanes:0={_controlPlane.Address}",
                "--Dataplane:NodeId=node-flapping",
                $"--Dataplane:StateDirectory={directory}",
                "--Dataplane:LastKnownGoodWriteInterval=00:00:00");
            var client = node.Services.GetRequiredService<DiscoveryClient>();
            var first = await _controlPlane.NextStreamAsync();
            await first.SendAsync(E, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080))]);
            await first.SendAsync(P, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.LeastConn)]);
            var config = node.Config.Current;
            Assert.True(config.IsLoaded);
            await store.NextWriteAsync();
            // Written off the stream. The policy may come while the first write reads the resources:
            // then that write holds it and the writer writes it once more. Both are done before the new stream.
            await Eventually.WaitAsync("the writer to have written what the first stream sent", () => !client.LastKnownGoodPending);
            while (store.Writes.Reader.TryRead(out _))
            {
            }
            File.Delete(client.LastKnownGoodPath!); // so a rewrite shows
            File.Delete(Path.Combine(directory, LastKnownGoodStore.PositionFileName));
            first.End();

            var again = await _controlPlane.NextStreamAsync();
            Assert.Null((await again.SendAsync(E, "e2", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080))])).ErrorDetail);
            Assert.Null((await again.SendAsync(P, "p2", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.LeastConn)])).ErrorDetail);

            Assert.Same(config, node.Config.Current);

            // A real change is published and kept, as always: the next write, none before it.
            await again.SendAsync(E, "e3", [ScriptedControlPlane.EndpointSet("img", "v2", ("i1", 8081))]);
            Assert.Equal(config.Revision + 1, node.Config.Current.Revision);
            Assert.Equal(["img=v2", "img=v1"], (await store.NextWriteAsync()).Versions);
            await Eventually.WaitAsync("the rewritten file", () => File.Exists(client.LastKnownGoodPath));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The system's timers, with timestamps that a test can move forward (how long a stream lasted).</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private long _offset;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offset, (long)(by.TotalSeconds * TimestampFrequency));

        public override long GetTimestamp() => System.GetTimestamp() + Interlocked.Read(ref _offset);

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + TimeSpan.FromSeconds((double)Interlocked.Read(ref _offset) / TimestampFrequency);
    }
}
