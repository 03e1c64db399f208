using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>What a node must send: its identity first, known types, sane names. Bad input ends the stream with INVALID_ARGUMENT and changes nothing.</summary>
public sealed class StreamValidationTests
{
    private static async Task<Status> EndOfStreamAfterAsync(DiscoveryHost host, params DeltaResourcesRequest[] requests)
    {
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "ignored");
        foreach (var request in requests)
        {
            await node.SendRawAsync(request);
        }
        return await node.WaitForEndAsync(checkRules: false); // raw requests: the node's own bookkeeping is bypassed
    }

    [Fact]
    public async Task AFirstRequestWithoutANodeId_IsInvalid()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Zone = "z" }, TypeUrl = ResourceTypes.EndpointSet });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(status.FieldViolations(), v => v.Field == "node.id");
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public async Task AnUnknownType_IsInvalid_AndNamesTheKnownOnes()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(ResourceTypes.EndpointSet, status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANodeThatChangesItsIdMidStream_IsInvalid()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(
            host,
            new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "*" } },
            new DeltaResourcesRequest { Node = new Node { Id = "n2" }, TypeUrl = ResourceTypes.RoutingPolicy, ResourceNamesSubscribe = { "*" } });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains("n1", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEmptyResourceName_IsInvalid()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "img.a", "" } });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(status.FieldViolations(), v => v.Field == "resource_names_subscribe");
    }

    [Fact]
    public async Task TooManyNames_AreRefused()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxResourceNamesPerRequest = 3);
        var request = new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet };
        request.ResourceNamesSubscribe.AddRange(["a", "b", "c", "d"]);
        var status = await EndOfStreamAfterAsync(host, request);
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
    }

    [Fact]
    public void SettingsThatCannotWork_AreRefusedAtStartup()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ControlPlane.Server.Discovery.DiscoveryOptions { StuckStreamTimeout = TimeSpan.Zero }.Validate());
        Assert.Contains("StuckStreamTimeout", error.Message, StringComparison.Ordinal);
        new ControlPlane.Server.Discovery.DiscoveryOptions().Validate();
    }
}
