using System.Diagnostics;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Stopping a replica ends its discovery streams at once with UNAVAILABLE, so nodes reconnect elsewhere.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Stopping_EndsEveryStream_WithUnavailable_WithoutWaitingForTheShutdownTimeout()
    {
        var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        using var channel = host.CreateChannel();
        await using var node = await FakeDeltaNode.ConnectAsync(channel, "node-1");
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, ResourceTypes.EndpointSet), "img.a");

        var stopping = Stopwatch.StartNew();
        await host.DisposeAsync().AsTask().DefaultTimeout();
        stopping.Stop();

        var end = await node.WaitForEndAsync().DefaultTimeout();
        Assert.Equal(StatusCode.Unavailable, end.StatusCode);
        Assert.Equal("shutting_down", end.Reason());
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
    }
}
