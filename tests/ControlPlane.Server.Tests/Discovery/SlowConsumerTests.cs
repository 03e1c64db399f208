using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>A node that stops reading never delays the others, holds a bounded queue, and is closed as stuck.</summary>
public sealed class SlowConsumerTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;
    private static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> Delta = new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    /// <summary>About 7 KB of metadata: 40 such instances make an endpoint set far larger than HTTP/2 flow control lets through unread.</summary>
    internal static readonly string BigMetadata = "{" + string.Join(",", Enumerable.Range(0, 8).Select(i => $"\"k{i}\": \"{new string((char)('a' + i), 850)}\"")) + "}";

    [Fact]
    public async Task ANodeThatNeverReads_DoesNotDelayAFastOne_KeepsABoundedQueue_AndIsClosedAsStuck()
    {
        await using var host = await DiscoveryHost.StartAsync(o =>
        {
            o.StuckStreamTimeout = TimeSpan.FromSeconds(30);
            o.StuckCheckInterval = TimeSpan.FromSeconds(5);
        });
        for (var i = 0; i < 40; i++)
        {
            await host.RegisterAsync($"big{i}", "img.big", 9000 + i, BigMetadata);
        }
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Find("img.big") is { Size: > 250_000 }, "the large endpoint set");

        // The slow node shares the fast node's channel (and HTTP/2 connection), subscribes, and never reads.
        using var slow = host.Channel.AsyncDuplexStreamingCall(Delta);
        await slow.RequestStream.WriteAsync(new DeltaResourcesRequest { Node = new Node { Id = "slow" }, TypeUrl = Endpoints, ResourceNamesSubscribe = { "*" } }).DefaultTimeout();
        await host.WaitForStreamsAsync(s => s.ForNode("slow") is [{ BlockedSince: not null }], "the slow node's first write to block");

        await using var fast = await FakeDeltaNode.ConnectAsync(host.Channel, "fast");
        await fast.SubscribeAsync(Endpoints, "*");
        for (var round = 0; round < 10; round++)
        {
            await host.RegisterAsync($"small{round}", $"img.small{round % 3}", 7000 + round);
            await fast.WaitUntilAsync(() => fast.HoldsCurrent(host.Cache, Endpoints), $"round {round}");
        }

        // However many changes, the slow node's queue holds at most one mark per resource.
        var stuck = Assert.Single(host.Streams.ForNode("slow"));
        Assert.InRange(stuck.QueueDepth, 1, host.Cache.Snapshot(Endpoints).Count);
        Assert.NotNull(stuck.BlockedSince);

        var closed = WhenClosed(host, "slow");
        host.Clock.Advance(TimeSpan.FromSeconds(36));
        Assert.Contains(host.Logs.Records, r => r.EventId.Id == 4014 && r.Message.Contains("slow", StringComparison.Ordinal));

        // The response in flight still gets through when the node reads again, then the status that says why.
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await slow.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            {
            }
        });
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("stream_stuck", error.Status.Reason());
        Assert.Contains("has not read", error.Status.Detail, StringComparison.Ordinal);
        await closed.DefaultTimeout();
        Assert.Empty(host.Streams.ForNode("slow"));
        Assert.Single(host.Streams.ForNode("fast"));
        fast.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AStuckNodeThatNeverReadsAgain_IsResetAfterTheDrainTimeout_AndLeavesNothingBehind()
    {
        await using var host = await DiscoveryHost.StartAsync(o =>
        {
            o.StuckStreamTimeout = TimeSpan.FromSeconds(30);
            o.StuckStreamDrainTimeout = TimeSpan.FromSeconds(10);
            o.StuckCheckInterval = TimeSpan.FromSeconds(5);
        });
        for (var i = 0; i < 40; i++)
        {
            await host.RegisterAsync($"big{i}", "img.big", 9000 + i, BigMetadata);
        }
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Find("img.big") is { Size: > 250_000 }, "the large endpoint set");
        using var slow = host.Channel.AsyncDuplexStreamingCall(Delta);
        await slow.RequestStream.WriteAsync(new DeltaResourcesRequest { Node = new Node { Id = "slow" }, TypeUrl = Endpoints, ResourceNamesSubscribe = { "*" } }).DefaultTimeout();
        await host.WaitForStreamsAsync(s => s.ForNode("slow") is [{ BlockedSince: not null }], "the slow node's first write to block");

        var closed = WhenClosed(host, "slow");
        host.Clock.Advance(TimeSpan.FromSeconds(36));
        Assert.False(closed.IsCompleted);
        host.Clock.Advance(TimeSpan.FromSeconds(10));
        await closed.DefaultTimeout();

        Assert.Equal(0, host.Streams.Count);
        Assert.Equal(0, ((ControlPlane.Server.Discovery.Cache.ResourceCache)host.Cache).WatchCount);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await slow.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            {
            }
        });
        Assert.NotEqual(StatusCode.OK, error.StatusCode);
        host.AssertNoUnexpectedErrors();
    }

    private static Task<DataplaneStreamStatus> WhenClosed(DiscoveryHost host, string nodeId)
    {
        var closed = new TaskCompletionSource<DataplaneStreamStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Streams.Changed += e =>
        {
            if (e.Kind == DataplaneStreamEventKind.Closed && e.NodeId == nodeId)
            {
                closed.TrySetResult(e.Final!);
            }
        };
        return closed.Task;
    }
}
