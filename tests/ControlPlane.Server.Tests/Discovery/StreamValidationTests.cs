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

    [Theory]
    [InlineData("nan", "node.metadata.x")]
    [InlineData("infinity", "node.metadata.x")]
    [InlineData("no-kind", "node.metadata.list[1]")]
    [InlineData("deep", "node.metadata")]
    public async Task NodeMetadataJsonCannotCarry_IsInvalid_SoTheFleetViewStaysReadable(string kind, string field)
    {
        await using var host = await DiscoveryHost.StartAsync();
        var metadata = new Google.Protobuf.WellKnownTypes.Struct();
        switch (kind)
        {
            case "nan":
                metadata.Fields["x"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(double.NaN);
                break;
            case "infinity":
                metadata.Fields["x"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(double.PositiveInfinity);
                break;
            case "no-kind":
                metadata.Fields["list"] = Google.Protobuf.WellKnownTypes.Value.ForList(Google.Protobuf.WellKnownTypes.Value.ForString("a"), new Google.Protobuf.WellKnownTypes.Value());
                break;
            default:
                var value = Google.Protobuf.WellKnownTypes.Value.ForString("bottom");
                for (var i = 0; i < 20; i++)
                {
                    var level = new Google.Protobuf.WellKnownTypes.Struct();
                    level.Fields["d"] = value;
                    value = Google.Protobuf.WellKnownTypes.Value.ForStruct(level);
                }
                metadata.Fields["deep"] = value;
                break;
        }

        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Id = "n1", Metadata = metadata }, TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "*" } });

        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(field, Assert.Single(status.FieldViolations()).Field);
        Assert.Equal(0, host.Streams.Count);
    }

    [Theory]
    [InlineData("node 1", "node.id", "U+0020")]
    [InlineData("node\t1", "node.id", "U+0009")]
    [InlineData("node-1\n", "node.id", "U+000A")]
    [InlineData("node\u00001", "node.id", "U+0000")]
    [InlineData("nöde-1", "node.id", "U+00F6")]
    [InlineData("node\u007F", "node.id", "U+007F")]
    [InlineData("..", "node.id", "'..'")]
    [InlineData(".", "node.id", "'.'")]
    [InlineData("zone:eu central", "node.zone", "U+0020")]
    [InlineData("region:eu\u2028central", "node.region", "U+2028")]
    [InlineData("agent:envoy\nproxy", "node.user_agent_name", "U+000A")]
    [InlineData("version:1.0 beta", "node.user_agent_version", "U+0020")]
    public async Task ANodeIdZoneRegionOrUserAgentOutsidePrintableAscii_IsInvalid_NamingTheCharacter(string value, string field, string named)
    {
        await using var host = await DiscoveryHost.StartAsync();
        var node = field switch
        {
            "node.zone" => new Node { Id = "n1", Zone = value["zone:".Length..] },
            "node.region" => new Node { Id = "n1", Region = value["region:".Length..] },
            "node.user_agent_name" => new Node { Id = "n1", UserAgentName = value["agent:".Length..] },
            "node.user_agent_version" => new Node { Id = "n1", UserAgentVersion = value["version:".Length..] },
            _ => new Node { Id = value },
        };
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = node, TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "*" } });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        var violation = Assert.Single(status.FieldViolations());
        Assert.Equal(field, violation.Field);
        Assert.Contains(named, violation.Description, StringComparison.Ordinal);
        Assert.Contains(named.StartsWith("U+", StringComparison.Ordinal) ? "printable ASCII" : "URL path", violation.Description, StringComparison.Ordinal);
        Assert.Equal(0, host.Streams.Count);
    }

    [Theory]
    [InlineData("sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local")]
    [InlineData("router~10.0.0.2~gw-7d9f.istio-system~istio-system.svc.cluster.local")]
    [InlineData("!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~")]
    public async Task EnvoyAndIstioIds_AndEveryPrintableCharacter_AreAccepted(string id)
    {
        await using var host = await DiscoveryHost.StartAsync();
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, id);
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
        Assert.Single(host.Streams.ForNode(id));
    }

    [Fact]
    public async Task TheDataplanesDefaultNodeId_TheMachineName_IsAccepted()
    {
        // The dataplane's Dataplane:NodeId defaults to Environment.MachineName (dataplane/.../DiscoveryOptions.cs).
        await using var host = await DiscoveryHost.StartAsync();
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, Environment.MachineName);
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
    }

    [Fact]
    public async Task AnUnknownType_IsInvalid_AndNamesTheKnownOnes()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(ResourceTypes.EndpointSet, status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, host.Streams.Count);
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
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public async Task AnEmptyResourceName_IsInvalid()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var status = await EndOfStreamAfterAsync(host, new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "img.a", "" } });
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Contains(status.FieldViolations(), v => v.Field == "resource_names_subscribe");
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public async Task TooManyNames_AreRefused()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxResourceNamesPerRequest = 3);
        var request = new DeltaResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet };
        request.ResourceNamesSubscribe.AddRange(["a", "b", "c", "d"]);
        var status = await EndOfStreamAfterAsync(host, request);
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public async Task SubscribingMoreNamesThanOneRequestMayCarry_OverSeveralRequests_IsRefused()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxResourceNamesPerRequest = 3);
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "n1");
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "a", "b");
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "a", "c"); // "a" again: three names in all
        await host.WaitForStreamsAsync(s => s.ForNode("n1") is [{ Types: [{ AwaitingAck: false }] }], "the node's ACK"); // not written while the stream ends

        await node.SendRawAsync(new DeltaResourcesRequest { TypeUrl = ResourceTypes.EndpointSet, ResourceNamesSubscribe = { "d" } });
        var status = await node.WaitForEndAsync(checkRules: false);

        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        var violation = Assert.Single(status.FieldViolations());
        Assert.Equal("resource_names_subscribe", violation.Field);
        Assert.Contains("4 names", violation.Description, StringComparison.Ordinal);
        Assert.Contains("at most 3", violation.Description, StringComparison.Ordinal);
        await host.WaitForStreamsAsync(s => s.Count == 0, "the stream to end");
    }

    public static TheoryData<string, StreamResourcesRequest[], string> BadSotwRequests()
    {
        var tooMany = new StreamResourcesRequest { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet };
        tooMany.ResourceNames.AddRange(["a", "b", "c", "d"]);
        return new()
        {
            { "no node id", [new() { Node = new Node { Zone = "z" }, TypeUrl = ResourceTypes.EndpointSet }], "node.id" },
            { "no node at all", [new() { TypeUrl = ResourceTypes.EndpointSet }], "node" },
            { "a control character in the id", [new() { Node = new Node { Id = "n\u00071" }, TypeUrl = ResourceTypes.EndpointSet }], "node.id" },
            { "an unknown type", [new() { Node = new Node { Id = "n1" }, TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster" }], "" },
            { "an empty name", [new() { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet, ResourceNames = { "img.a", "" } }], "resource_names" },
            { "too many names", [tooMany], "" },
            { "a store position past 64 characters", [new() { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet, StorePosition = new string('7', 65) }], "" },
            {
                "another node id mid-stream",
                [
                    new() { Node = new Node { Id = "n1" }, TypeUrl = ResourceTypes.EndpointSet },
                    new() { Node = new Node { Id = "n2" }, TypeUrl = ResourceTypes.RoutingPolicy },
                ],
                ""
            },
        };
    }

    /// <summary>The state-of-the-world variant checks what the delta one does: INVALID_ARGUMENT, and no stream left behind.</summary>
    [Theory]
    [MemberData(nameof(BadSotwRequests))]
    public async Task BadStateOfTheWorldRequests_AreInvalid_AndLeaveNoStream(string why, StreamResourcesRequest[] requests, string field)
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxResourceNamesPerRequest = 3);
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "ignored");
        foreach (var request in requests)
        {
            await node.SendRawAsync(request);
        }
        var status = await node.WaitForEndAsync(checkRules: false);

        Assert.True(status.StatusCode == StatusCode.InvalidArgument, $"{why}: {status}");
        if (field.Length > 0)
        {
            Assert.Contains(status.FieldViolations(), v => v.Field == field);
        }
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public void SettingsThatCannotWork_AreRefusedAtStartup()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ControlPlane.Server.Discovery.DiscoveryOptions { StuckStreamTimeout = TimeSpan.Zero }.Validate());
        Assert.Contains("StuckStreamTimeout", error.Message, StringComparison.Ordinal);
        foreach (var bad in new[]
        {
            new ControlPlane.Server.Discovery.DiscoveryOptions { MassRemovalThreshold = 1 },
            new ControlPlane.Server.Discovery.DiscoveryOptions { MassRemovalThreshold = double.NaN },
            new ControlPlane.Server.Discovery.DiscoveryOptions { MassRemovalHold = TimeSpan.FromSeconds(-1) },
            new ControlPlane.Server.Discovery.DiscoveryOptions { MassRemovalMinEndpoints = 0 },
        })
        {
            Assert.Contains("MassRemoval", Assert.Throws<InvalidOperationException>(bad.Validate).Message, StringComparison.Ordinal);
        }
        new ControlPlane.Server.Discovery.DiscoveryOptions().Validate();
    }
}
