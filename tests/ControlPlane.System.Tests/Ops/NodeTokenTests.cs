using System.Net;
using System.Text.Json;
using ControlPlane.Api.Auth;
using ControlPlane.System.Tests.Infrastructure;
using ControlPlane.TestCommon;

namespace ControlPlane.System.Tests.Ops;

/// <summary>
/// Per-node dataplane tokens end to end: a control plane with a node key, a node presenting the
/// token made for it (as `cpctl dataplane-token` makes it, read from DATAPLANE_TOKEN_FILE) takes its
/// configuration and reports its load; a key too short stops the control plane in one line.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class NodeTokenTests(Platform platform)
{
    private const string Image = "img.nodetoken";
    private const string Key = "system-node-key-5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";

    [Fact]
    public async Task ANodeWithItsOwnToken_IsServed_AndItsLoadCounted()
    {
        var directory = platform.StateDirectory("node-token");
        Directory.CreateDirectory(directory);
        var keyFile = Path.Combine(directory, "node.key");
        await File.WriteAllTextAsync(keyFile, Key + "\n");
        var tokenFile = Path.Combine(directory, "token");
        await File.WriteAllTextAsync(tokenFile, DataplaneNodeTokens.FromKeys(Key, "test").Issue("tok-a") + "\n");

        await using var controlPlane = await ControlPlaneProcess.StartAsync(new Dictionary<string, string> { ["DATAPLANE_NODE_KEY_FILE"] = keyFile });
        await using var node = await DataplaneNode.StartAsync("tok-a", controlPlane.GrpcAddress, Path.Combine(directory, "state"), new Dictionary<string, string>
        {
            ["DATAPLANE_TOKEN_FILE"] = tokenFile,
            ["Dataplane__Reporting__Interval"] = "00:00:01",
        });
        await controlPlane.ChangeAsync("EndpointSet", [node.NodeId], () => controlPlane.RegisterAsync(Image, "tok-b1", platform.Backends[0]));
        for (var i = 0; i < 5; i++)
        {
            using var response = await node.Client.GetAsync($"/g/{Image}/hello").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await Eventually.WaitAsync("the node's 5 requests counted", async () =>
        {
            using var stats = JsonDocument.Parse(await controlPlane.Client.GetStringAsync("/v1/stats/images?window=5m").DefaultTimeout());
            return stats.RootElement.EnumerateArray()
                .Any(i => i.GetProperty("image").GetString() == Image && i.GetProperty("req_count").ToString() == "5");
        });
        using (var fleet = JsonDocument.Parse(await controlPlane.Client.GetStringAsync("/v1/dataplanes/tok-a").DefaultTimeout()))
        {
            Assert.Equal("node_token", fleet.RootElement.GetProperty("dataplane").GetProperty("credential").GetString());
        }
        Assert.DoesNotContain(controlPlane.Process.Lines.Concat(node.Process.Lines), l => l.Contains(Key, StringComparison.Ordinal) || l.Contains("dpn1.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANodeKeyTooShort_StopsTheControlPlane_InOneLine()
    {
        var error = await Assert.ThrowsAsync<ChildProcessException>(() => ControlPlaneProcess.StartAsync(
            new Dictionary<string, string> { ["DATAPLANE_NODE_KEY"] = "too-short-node-key" })).DefaultTimeout();

        Assert.Contains("ControlPlane.Server: cannot start: DATAPLANE_NODE_KEY: the key on line 1 is 18 characters long; node keys need at least 32", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("too-short-node-key", error.Message, StringComparison.Ordinal);
    }
}
