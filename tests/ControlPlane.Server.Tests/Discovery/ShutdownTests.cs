using System.Diagnostics;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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

    [Fact]
    public async Task StreamOpenedWhileStopping_IsEndedAtOnce_NotHeldUntilTheShutdownTimeout()
    {
        await using var host = await DiscoveryHost.StartAsync();
        using var channel = host.CreateChannel();
        // ApplicationStopping has fired (the host is on its way down), Kestrel still serves: a node
        // that reconnects at once to this replica must be sent elsewhere too.
        host.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await using var node = await FakeDeltaNode.ConnectAsync(channel, "node-late");
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");

        var end = await node.WaitForEndAsync().DefaultTimeout();

        Assert.Equal(StatusCode.Unavailable, end.StatusCode);
        Assert.Equal("shutting_down", end.Reason());
    }
}
