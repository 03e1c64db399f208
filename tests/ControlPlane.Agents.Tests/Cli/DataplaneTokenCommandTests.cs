using ControlPlane.Agents.Tests.Infrastructure;
using ControlPlane.Api.Auth;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>cpctl dataplane-token: a node's token from the control plane's node key, as an operator makes it.</summary>
public sealed class DataplaneTokenCommandTests
{
    private const string Key = "cpctl-node-key-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";

    [Fact]
    public async Task TheTokenPrinted_IsTheNodesToken_TheControlPlaneVerifies()
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, Key + "\n");
            var result = await Cpctl.RunAsync(new Dictionary<string, string> { ["DATAPLANE_NODE_KEY_FILE"] = file }, "dataplane-token", "edge-1");
            Assert.True(result.ExitCode == 0, result.ToString());
            var token = result.Stdout.TrimEnd('\n');
            Assert.True(DataplaneNodeTokens.FromKeys(Key, "test").TryVerify(token, out var nodeId), result.ToString());
            Assert.Equal("edge-1", nodeId);
            Assert.DoesNotContain(Key, result.Stdout + result.Stderr, StringComparison.Ordinal);

            var json = await Cpctl.RunAsync(new Dictionary<string, string> { ["DATAPLANE_NODE_KEY"] = Key }, "dataplane-token", "edge-1", "-o", "json");
            Assert.True(json.ExitCode == 0, json.ToString());
            Assert.Equal($$"""{"node_id":"edge-1","token":"{{token}}"}""", json.Stdout.TrimEnd('\n'));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(null, "edge-1", "no node key: set DATAPLANE_NODE_KEY or DATAPLANE_NODE_KEY_FILE")]
    [InlineData("too-short", "edge-1", "DATAPLANE_NODE_KEY: the key on line 1 is 9 characters long; node keys need at least 32")]
    [InlineData(Key, "edge 1", "node id has U+0020")]
    public async Task WithoutAUsableKeyOrId_ItIsAUsageError_ShowingNoKey(string? key, string nodeId, string message)
    {
        var environment = new Dictionary<string, string>();
        if (key is not null)
        {
            environment["DATAPLANE_NODE_KEY"] = key;
        }
        var result = await Cpctl.RunAsync(environment, "dataplane-token", nodeId);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal("", result.Stdout);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("cpctl dataplane-token: ", result.Stderr, StringComparison.Ordinal);
        if (key is not null)
        {
            Assert.DoesNotContain(key, result.Stderr, StringComparison.Ordinal);
        }
    }
}
