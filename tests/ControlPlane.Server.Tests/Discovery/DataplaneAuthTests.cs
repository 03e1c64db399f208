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
