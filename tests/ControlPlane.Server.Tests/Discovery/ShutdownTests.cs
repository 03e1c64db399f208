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
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {stopping.Elapsed}");
        // The stream ends with UNAVAILABLE (reason shutting_down) when its trailers leave before Kestrel
        // closes the connection; when the connection goes first the node sees the transport end instead.
        // Either way it reconnects elsewhere at once.
        Assert.NotEqual(StatusCode.OK, end.StatusCode);
        if (end.StatusCode == StatusCode.Unavailable && end.Reason() is { } reason)
        {
            Assert.Equal("shutting_down", reason);
        }
    }
}
