using System.Diagnostics;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>A fleet: many nodes on a few HTTP/2 connections converge on one registration, and leave nothing behind.</summary>
public sealed class FleetTests(ITestOutputHelper output)
{
    private const int Nodes = 1000;
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    [Fact]
    public async Task AThousandDeltaNodes_OverAFewConnections_AllConvergeOnARegistration_AndLeaveNothingBehind()
    {
        // 250 streams per connection: the client opens 4 HTTP/2 connections for 1000 streams.
        await using var host = await DiscoveryHost.StartAsync(maxStreamsPerConnection: 250);
        await host.RegisterAsync("a1", "img.a", 8081);
        var nodes = await Task.WhenAll(Enumerable.Range(0, Nodes).Select(async i =>
        {
            var node = await FakeDeltaNode.ConnectAsync(host.Channel, $"node-{i:D4}");
            await node.SubscribeAsync(Endpoints, "*");
            return node;
        }));
        try
        {
            await Task.WhenAll(nodes.Select(n => n.WaitUntilAsync(() => n.HoldsCurrent(host.Cache, Endpoints), "img.a"))).DefaultTimeout();
            Assert.Equal(Nodes, host.Streams.Count);
            var connections = host.Streams.List().Select(s => s.Peer).Distinct().Count();
            Assert.InRange(connections, 4, 8);

            var stopwatch = Stopwatch.StartNew();
            await host.RegisterAsync("b1", "img.b", 8082, waitForCache: false);
            await Task.WhenAll(nodes.Select(n => n.WaitUntilAsync(() => n.Versions(Endpoints).ContainsKey("img.b"), "img.b"))).DefaultTimeout();
            var converged = stopwatch.Elapsed;
            await host.WaitForStreamsAsync(s => s.List().All(x => x.Types[0] is { AwaitingAck: false } t && t.VersionAcked == t.VersionCurrent), "every node to acknowledge img.b");
            output.WriteLine($"{Nodes} nodes over {connections} connections: all held img.b {converged.TotalMilliseconds:0} ms after the registration, all ACKs in {stopwatch.Elapsed.TotalMilliseconds:0} ms");

            // In sync, every wildcard stream shares the cache's snapshot: no per-resource state of its own.
            var registry = host.Services.GetRequiredService<StreamRegistry>();
            Assert.Equal(0, registry.Open.Sum(s => s.PrivateResourceEntries));

            // Each node got exactly one response for the change: the new img.b, nothing else.
            Assert.All(nodes, n =>
            {
                var last = n.Received[^1];
                Assert.Equal(["img.b"], last.Resources.Select(r => r.Name));
                Assert.Empty(last.RemovedResources);
                n.AssertNoViolations();
            });
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
        }
        await host.WaitForStreamsAsync(s => s.Count == 0, "every stream to close");
        Assert.Equal(0, ((ResourceCache)host.Cache).WatchCount);
        host.AssertNoUnexpectedErrors();
    }
}
