using ControlPlane.Dataplane.Discovery;
using ControlPlane.Dataplane.Ops;
using ControlPlane.Dataplane.Tests.Discovery;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>
/// What an operator scrapes to see a node's link to the control plane: ACKs and NACKs per type, the
/// version and size of what it holds per type, which control plane it is connected to.
/// </summary>
public sealed class DiscoveryMetricsTests
{
    private const string Unreachable = "http://127.0.0.1:1";

    [Fact]
    public async Task Metrics_FollowAcksNacksVersionsAndTheConnectedControlPlane()
    {
        await using var controlPlane = await ScriptedControlPlane.StartAsync();
        await using var node = await DataplaneFixture.StartAsync(
            null,
            $"--Dataplane:ControlPlanes:0={controlPlane.Address}",
            $"--Dataplane:ControlPlanes:1={Unreachable}",
            "--Dataplane:StartAtRandomControlPlane=false",
            "--Dataplane:NodeId=node-metrics");
        using var http = node.CreateClient();
        var stream = await controlPlane.NextStreamAsync();

        var before = await http.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Equal(0, MetricSamples.Get(before, "controlplane_dataplane_discovery_acks_total{type=\"EndpointSet\"}"));
        Assert.Equal(0, MetricSamples.Get(before, "controlplane_dataplane_config_version{type=\"EndpointSet\"}"));
        Assert.Equal(0, MetricSamples.Get(before, $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane.Address}\"}}"));

        await stream.SendAsync(DiscoveryState.EndpointSetType, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080)), ScriptedControlPlane.EndpointSet("img2", "v1", ("i2", 8080))]);
        await stream.SendAsync(DiscoveryState.RoutingPolicyType, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.LeastConn)]);
        var nack = await stream.SendAsync(DiscoveryState.EndpointSetType, "e2", [ScriptedControlPlane.EndpointSet("img", "v2", ("i1", 0))]);
        Assert.NotNull(nack.ErrorDetail);

        var after = await http.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Equal(1, MetricSamples.Get(after, "controlplane_dataplane_discovery_acks_total{type=\"EndpointSet\"}"));
        Assert.Equal(1, MetricSamples.Get(after, "controlplane_dataplane_discovery_acks_total{type=\"RoutingPolicy\"}"));
        Assert.Equal(1, MetricSamples.Get(after, "controlplane_dataplane_discovery_nacks_total{type=\"EndpointSet\"}"));
        Assert.Equal(0, MetricSamples.Get(after, "controlplane_dataplane_discovery_nacks_total{type=\"RoutingPolicy\"}"));
        // The version in use is the last accepted one: e1, not the rejected e2.
        Assert.Equal(DataplaneMetrics.VersionNumber("e1"), MetricSamples.Get(after, "controlplane_dataplane_config_version{type=\"EndpointSet\"}"));
        Assert.Equal(DataplaneMetrics.VersionNumber("p1"), MetricSamples.Get(after, "controlplane_dataplane_config_version{type=\"RoutingPolicy\"}"));
        Assert.Equal(2, MetricSamples.Get(after, "controlplane_dataplane_config_resources{type=\"EndpointSet\"}"));
        Assert.Equal(1, MetricSamples.Get(after, "controlplane_dataplane_config_resources{type=\"RoutingPolicy\"}"));
        Assert.Equal(1, MetricSamples.Get(after, $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane.Address}\"}}"));
        Assert.Equal(0, MetricSamples.Get(after, $"controlplane_dataplane_control_plane_connected{{address=\"{Unreachable}\"}}"));
        Assert.Equal(0, MetricSamples.Get(after, "controlplane_dataplane_config_last_known_good"));
        Assert.Contains("# TYPE controlplane_dataplane_discovery_acks_total counter", after, StringComparison.Ordinal);

        // The control plane ends the stream: the node is connected to none until a new stream answers.
        stream.End();
        var next = await controlPlane.NextStreamAsync();
        var disconnected = await http.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Equal(0, MetricSamples.Get(disconnected, $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane.Address}\"}}"));
        Assert.Null(node.Services.GetRequiredService<DiscoveryClient>().ConnectedControlPlane);
        next.End();
    }

    [Fact]
    public async Task LastKnownGoodWrites_Staleness_AndNacksOfOtherTypes_AreMetered()
    {
        var directory = Directory.CreateTempSubdirectory("dp-lkg-metrics-").FullName;
        try
        {
            // A directory where the file should be: the load at start says so, and every write fails.
            Directory.CreateDirectory(Path.Combine(directory, LastKnownGoodStore.FileName));
            await using var controlPlane = await ScriptedControlPlane.StartAsync();
            var time = new ManualTimeProvider();
            var unusable = new LogSignal(2506);
            await using var node = await DataplaneFixture.StartAsync(
                builder =>
                {
                    builder.Services.AddSingleton<TimeProvider>(time);
                    builder.Logging.AddProvider(unusable);
                },
                $"--Dataplane:ControlPlanes:0={controlPlane.Address}",
                "--Dataplane:NodeId=node-lkg-metrics",
                $"--Dataplane:StateDirectory={directory}");
            using var http = node.CreateClient();
            var stream = await controlPlane.NextStreamAsync();

            time.Advance(TimeSpan.FromSeconds(3)); // LastKnownGoodAfter: nothing answered yet
            Assert.Contains("is a directory", await unusable.Logged.DefaultTimeout(), StringComparison.Ordinal);

            var before = await http.GetStringAsync("/metrics").DefaultTimeout();
            Assert.Equal(0, MetricSamples.Get(before, "controlplane_dataplane_config_last_change_timestamp_seconds"));
            Assert.Equal(0, MetricSamples.Get(before, "controlplane_dataplane_last_known_good_write_timestamp_seconds"));

            await stream.SendAsync(DiscoveryState.EndpointSetType, "e1", [ScriptedControlPlane.EndpointSet("img", "v1", ("i1", 8080))]);
            await stream.SendAsync(DiscoveryState.RoutingPolicyType, "p1", [ScriptedControlPlane.RoutingPolicy("img", "v1", LoadBalancingAlgorithms.LeastConn)]);
            var published = time.GetUtcNow().ToUnixTimeSeconds();
            var client = node.Services.GetRequiredService<DiscoveryClient>();
            await Eventually.WaitAsync("the write to fail", () => client.LastKnownGoodWriteFailures == 1); // written off the stream
            var failed = await http.GetStringAsync("/metrics").DefaultTimeout();
            Assert.Equal(1, MetricSamples.Get(failed, "controlplane_dataplane_last_known_good_write_failures_total"));
            Assert.Equal(0, MetricSamples.Get(failed, "controlplane_dataplane_last_known_good_write_timestamp_seconds"));
            Assert.Equal(published, MetricSamples.Get(failed, "controlplane_dataplane_config_last_change_timestamp_seconds"));

            // The write that failed is made again after LastKnownGoodWriteInterval (1 s), with no new response.
            Directory.Delete(Path.Combine(directory, LastKnownGoodStore.FileName));
            time.Advance(TimeSpan.FromSeconds(1));
            await Eventually.WaitAsync("the retried write", () => client.LastKnownGoodWrittenAt is not null);
            Assert.Equal(2, new LastKnownGoodStore(directory).Load()!.Count);
            var retried = await http.GetStringAsync("/metrics").DefaultTimeout();
            Assert.Equal(published + 1, MetricSamples.Get(retried, "controlplane_dataplane_last_known_good_write_timestamp_seconds"));
            Assert.Equal(published, MetricSamples.Get(retried, "controlplane_dataplane_config_last_change_timestamp_seconds"));

            time.Advance(TimeSpan.FromSeconds(60));
            await stream.SendAsync(DiscoveryState.EndpointSetType, "e2", [ScriptedControlPlane.EndpointSet("img", "v2", ("i1", 8081))]);
            var nack = await stream.SendAsync("type.googleapis.com/controlplane.v1.Unknown", "u1", []);
            Assert.NotNull(nack.ErrorDetail);
            var written = time.GetUtcNow();
            await Eventually.WaitAsync("the change to be written", () => client.LastKnownGoodWrittenAt == written);

            var after = await http.GetStringAsync("/metrics").DefaultTimeout();
            Assert.Equal(1, MetricSamples.Get(after, "controlplane_dataplane_last_known_good_write_failures_total"));
            Assert.Equal(published + 61, MetricSamples.Get(after, "controlplane_dataplane_last_known_good_write_timestamp_seconds"));
            Assert.Equal(published + 61, MetricSamples.Get(after, "controlplane_dataplane_config_last_change_timestamp_seconds"));
            Assert.Equal(1, MetricSamples.Get(after, $"controlplane_dataplane_discovery_nacks_total{{type=\"{DataplaneMetrics.OtherType}\"}}"));
            Assert.Equal(0, MetricSamples.Get(after, "controlplane_dataplane_discovery_nacks_total{type=\"EndpointSet\"}"));

            var promtool = ExternalTools.Require(Promtool.Binary, "apt-get install prometheus");
            var check = await Promtool.CheckMetricsAsync(promtool, after);
            Assert.True(check.ExitCode == 0 && check.Problems.Count == 0, check.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void VersionNumber_IsStable_ExactInADouble_AndZeroForNone()
    {
        Assert.Equal(0, DataplaneMetrics.VersionNumber(null));
        Assert.Equal(DataplaneMetrics.VersionNumber("00000000deadbeef"), DataplaneMetrics.VersionNumber("00000000deadbeef"));
        Assert.NotEqual(DataplaneMetrics.VersionNumber("v1"), DataplaneMetrics.VersionNumber("v2"));
        var n = DataplaneMetrics.VersionNumber("ffffffffffffffff");
        Assert.InRange(n, 1, 1L << 52);
        Assert.Equal(n, (long)(double)n);
    }
}
