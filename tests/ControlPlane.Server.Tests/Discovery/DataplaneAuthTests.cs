using ControlPlane.Api.Auth;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>The dataplane_only method option: the node credential, distinct from the admin token, never logged.</summary>
public sealed class DataplaneAuthTests
{
    private const string NodeToken = "node-secret-3f9a1c";
    private const string AdminToken = "admin-secret-77b2e0";
    private const string NodeKey = "node-key-6c1f0e9d2b7a4c3e8f5a1d0b9c2e7f4a";

    private static readonly DataplaneNodeTokens NodeKeys = DataplaneNodeTokens.FromKeys(NodeKey, "test");

    private static DataplaneToken WithNodeKeys(string? shared = null) => DataplaneToken.FromValue(shared, PlatformToken.FromValue(AdminToken), "test", NodeKeys);

    [Fact]
    public async Task ANodesOwnToken_OpensItsStreams_AndNoOtherNodes()
    {
        await using var host = await DiscoveryHost.StartAsync(token: WithNodeKeys());
        var tokenOfA = NodeKeys.Issue("node-a");
        await using (var other = await FakeDeltaNode.ConnectAsync(host.Channel, "node-b", new FakeNodeOptions { Token = tokenOfA }))
        {
            await SubscribeExpectingRefusalAsync(() => other.SubscribeAsync(ResourceTypes.EndpointSet, "*"));
            var status = await other.WaitForEndAsync();
            Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
            Assert.Equal("unauthorized", status.Reason());
            Assert.Equal("the dataplane token presented is node 'node-a''s; a stream naming node 'node-b' needs that node's token", status.Detail);
        }
        await using (var other = await FakeSotwNode.ConnectAsync(host.Channel, "node-b", new FakeNodeOptions { Token = tokenOfA }))
        {
            await SubscribeExpectingRefusalAsync(() => other.SubscribeAsync(ResourceTypes.EndpointSet, "*"));
            Assert.Equal(StatusCode.PermissionDenied, (await other.WaitForEndAsync()).StatusCode);
        }
        Assert.Equal(0, host.Streams.Count);

        await using var delta = await FakeDeltaNode.ConnectAsync(host.Channel, "node-a", new FakeNodeOptions { Token = tokenOfA });
        await using var sotw = await FakeSotwNode.ConnectAsync(host.Channel, "node-a", new FakeNodeOptions { Token = tokenOfA });
        await delta.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await sotw.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await delta.WaitUntilAsync(() => delta.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first delta answer");
        await sotw.WaitUntilAsync(() => sotw.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first state-of-the-world answer");
        Assert.Equal("node_token", host.Fleet.Get("node-a")!.Credential); // the fleet view says which nodes have their own
        Assert.DoesNotContain(host.Logs.Records, r => r.Message.Contains(tokenOfA, StringComparison.Ordinal) || r.Message.Contains(NodeKey, StringComparison.Ordinal));
    }

    public static TheoryData<string> ForgedNodeTokens()
    {
        var tokenOfA = NodeKeys.Issue("node-a");
        var mac = tokenOfA[(tokenOfA.LastIndexOf('.') + 1)..];
        return new TheoryData<string>
        {
            // node-a's MAC under node-b's name
            DataplaneNodeTokens.Prefix + Convert.ToBase64String("node-b"u8.ToArray()).TrimEnd('=') + "." + mac,
            // made with another key
            DataplaneNodeTokens.FromKeys("another-key-0a1b2c3d4e5f60718293a4b5c6d7e8f9", "test").Issue("node-b"),
            // cut short, one character changed, padded, an older format
            tokenOfA[..^1],
            tokenOfA[..^2] + (tokenOfA[^2] == 'A' ? 'B' : 'A') + tokenOfA[^1],
            tokenOfA + "=",
            "dpn0." + tokenOfA[DataplaneNodeTokens.Prefix.Length..],
            NodeKey,
        };
    }

    [Theory]
    [MemberData(nameof(ForgedNodeTokens))]
    public async Task ForgedOrForeignNodeTokens_AreRefused(string presented)
    {
        await using var host = await DiscoveryHost.StartAsync(token: WithNodeKeys());
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-b", new FakeNodeOptions { Token = presented });
        await SubscribeExpectingRefusalAsync(() => node.SubscribeAsync(ResourceTypes.EndpointSet, "*"));
        var status = await node.WaitForEndAsync();
        Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
        Assert.Equal("the dataplane token is not valid", status.Detail);
        Assert.Equal(0, host.Streams.Count);
    }

    [Fact]
    public async Task WithNodeKeys_TheSharedTokenStillServesAnyNode()
    {
        await using var host = await DiscoveryHost.StartAsync(token: WithNodeKeys(shared: NodeToken));
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-z", new FakeNodeOptions { Token = NodeToken });
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
        Assert.Equal("shared_token", host.Fleet.Get("node-z")!.Credential);
    }

    [Fact]
    public void ANodeKey_MustDifferFromTheOtherTokens()
    {
        const string Shared = "shared-node-token-long-enough-to-be-a-key-0001";
        const string Admin = "admin-token-long-enough-to-be-a-node-key-0002";
        var keys = DataplaneNodeTokens.FromKeys("first-key-with-enough-characters-in-it-0003\n" + Admin + "\n" + Shared, "test");
        var asAdmin = Assert.Throws<InvalidOperationException>(() => DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(Admin), "test", keys));
        Assert.Equal("A node key (test) equals the platform token: node keys must be secrets of their own.", asAdmin.Message);
        var asShared = Assert.Throws<InvalidOperationException>(() => DataplaneToken.FromValue(Shared, PlatformToken.FromValue(AdminToken), "test", keys));
        Assert.Equal("A node key (test) equals the dataplane token: node keys must be secrets of their own.", asShared.Message);
    }

    private static async Task SubscribeExpectingRefusalAsync(Func<Task> subscribe)
    {
        try
        {
            await subscribe();
        }
        catch (RpcException)
        {
            // Refused before the node's first message was taken; WaitForEndAsync reports the status.
        }
    }

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated)]
    [InlineData("wrong-token", StatusCode.PermissionDenied)]
    [InlineData(AdminToken, StatusCode.PermissionDenied)]
    public async Task WithoutTheNodeToken_StreamsAreRefused(string? presented, StatusCode expected)
    {
        await using var host = await DiscoveryHost.StartAsync(token: DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(AdminToken)));
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", new FakeNodeOptions { Token = presented });
        try
        {
            await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        }
        catch (RpcException refused)
        {
            // The server may refuse the call before the node's first message is written: the write then reports the refusal.
            Assert.Equal(expected, refused.StatusCode);
        }

        var status = await node.WaitForEndAsync();
        Assert.Equal(expected, status.StatusCode);
        Assert.Equal("unauthorized", status.Reason());
        Assert.Equal(0, host.Streams.Count);
        Assert.DoesNotContain(host.Logs.Records, r => r.Message.Contains(NodeToken, StringComparison.Ordinal) || r.Message.Contains(AdminToken, StringComparison.Ordinal) || r.Message.Contains("wrong-token", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(NodeToken, NodeToken)]
    [InlineData("wrong-token", NodeToken)]
    [InlineData(NodeToken + "," + NodeToken, null)]
    public async Task TheNodeTokenSentTwice_OrCommaJoined_IsUnauthenticated_WhateverTheValues(string first, string? second)
    {
        await using var host = await DiscoveryHost.StartAsync(token: DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(AdminToken)));
        var options = new FakeNodeOptions { Token = first, MoreTokens = second is null ? [] : [second] };
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", options);
        try
        {
            await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        }
        catch (RpcException refused)
        {
            Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        }

        var status = await node.WaitForEndAsync();
        Assert.Equal(StatusCode.Unauthenticated, status.StatusCode);
        Assert.Equal("unauthorized", status.Reason());
        Assert.Equal(0, host.Streams.Count);
        Assert.DoesNotContain(host.Logs.Records, r => r.Message.Contains(NodeToken, StringComparison.Ordinal) || r.Message.Contains("wrong-token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheNodeToken_TheStreamIsServed()
    {
        await using var host = await DiscoveryHost.StartAsync(token: DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(AdminToken)));
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1", new FakeNodeOptions { Token = NodeToken });
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
        Assert.DoesNotContain(host.Logs.Records, r => r.Message.Contains(NodeToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutAConfiguredNodeToken_StreamsAreOpen_AndAWarningSaysSo()
    {
        await using var host = await DiscoveryHost.StartAsync(token: DataplaneToken.FromValue(null));
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
        Assert.Equal("none", host.Fleet.Get("node-1")!.Credential);
        Assert.Contains(host.Logs.Records, r => r.EventId.Id == 4015 && r.Message.Contains("DATAPLANE_TOKEN", StringComparison.Ordinal));
    }

    [Fact]
    public void TheNodeToken_MustDifferFromThePlatformToken()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DataplaneToken.FromValue(AdminToken, PlatformToken.FromValue(AdminToken)));
        Assert.DoesNotContain(AdminToken, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheNodeToken_IsReadFromTheFileFirst_WithoutItsTrailingNewline()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, NodeToken + "\n");
            var variables = new Dictionary<string, string?> { [DataplaneToken.FileVariableName] = file, [DataplaneToken.VariableName] = "ignored" };
            var token = DataplaneToken.FromEnvironment(null, v => variables.GetValueOrDefault(v));
            Assert.True(token.Matches(NodeToken));
            Assert.False(token.Matches("ignored"));
            Assert.Equal(DataplaneToken.FileVariableName, token.Source);

            var fromVariable = DataplaneToken.FromEnvironment(null, v => v == DataplaneToken.VariableName ? NodeToken : null);
            Assert.True(fromVariable.Matches(NodeToken));
            Assert.False(DataplaneToken.FromEnvironment(null, _ => null).IsConfigured);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
