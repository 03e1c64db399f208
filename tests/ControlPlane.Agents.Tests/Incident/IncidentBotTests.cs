using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Incident;

[Collection(PlatformCollection.Name)]
public sealed class IncidentBotTests(AgentPlatform platform)
{
    [Fact]
    public async Task CheckReadiness_AndRefreshDiscovery_ReadThePlatformAsItIs()
    {
        await using var fleet = await platform.RegisterAsync("img.incident", "ir-");
        await using var session = platform.Session();
        var ready = await session.RunAsync("incident", "check-readiness");
        Assert.True(ready.Ok, ready.ToJson());
        Assert.Contains(ready.Result!["dataplanes"]!.AsArray(), d => (string?)d!["node_id"] == "agents-node" && (string?)d["state"] == "SYNCED");

        var discovery = await session.RunAsync("incident", "refresh-discovery", new { image = "img.incident" });
        var image = discovery.Result!["images"]!.AsArray().Single()!;
        Assert.Equal(3, (int)image["healthy"]!);
        Assert.Equal(["ir-b1", "ir-b2", "ir-b3"], image["endpoints"]!.AsArray().Select(e => (string)e!["instance_id"]!).Order());
    }

    [Fact]
    public async Task FlipPolicy_NeedsApproval_AndPrintsTheCommandThatRestoresThePolicy()
    {
        const string image = "img.flip";
        await using var fleet = await platform.RegisterAsync(image, "f-");
        await using var session = platform.Session();
        Assert.True((await session.RunAsync("lb-policy", "set", new { image, algorithm = "weighted_rr", weights = new Dictionary<string, int> { ["f-b1"] = 5, ["f-b2"] = 1 } }, approve: true)).Ok);

        var refused = await session.RunAsync("incident", "flip-policy", new { image });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, refused.Error!.Code);
        Assert.Equal("weighted_rr", (await platform.PolicyAsync(image))!.Value.GetProperty("algorithm").GetString());

        var flipped = await session.RunAsync("incident", "flip-policy", new { image }, approve: true);
        Assert.True(flipped.Ok, flipped.ToJson());
        Assert.Equal("round_robin", (await platform.PolicyAsync(image))!.Value.GetProperty("algorithm").GetString());
        var restore = (string)flipped.Result!["restore_command"]!;
        Assert.Equal("cpctl lb-policy set img.flip --algorithm weighted_rr --weight f-b1=5 --weight f-b2=1 --reason 'restore after incident flip' --approve", restore);
        Assert.Contains(restore, flipped.Text, StringComparison.Ordinal);

        // The printed command, run as printed (its quoted reason as one argument), restores the policy.
        var restored = await Cpctl.RunAsync(platform.CpctlEnvironment, ["lb-policy", "set", image, "--algorithm", "weighted_rr", "--weight", "f-b1=5", "--weight", "f-b2=1", "--reason", "restore after incident flip", "--approve"]);
        Assert.True(restored.ExitCode == 0, restored.ToString());
        var policy = (await platform.PolicyAsync(image))!.Value;
        Assert.Equal("weighted_rr", policy.GetProperty("algorithm").GetString());
        Assert.Equal(5, policy.GetProperty("weights").GetProperty("f-b1").GetInt32());
        await session.RunAsync("lb-policy", "delete", new { image }, approve: true);
    }

    [Fact]
    public async Task ExportStats_CoversTheLastTenMinutes_AndSaysHow()
    {
        await using var fleet = await platform.RegisterAsync("img.rca", "rca-", [platform.Backends[0]]);
        for (var i = 0; i < 10; i++)
        {
            await platform.Node.GetAsync("img.rca", "/x");
        }
        var file = Path.Combine(platform.StateDirectory, "rca-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await using var session = platform.Session();
        AgentEnvelope export = null!;
        await Eventually.WaitAsync("the last 10 minutes counting img.rca", async () =>
        {
            export = await session.RunAsync("incident", "export-stats", new { image = "img.rca", to_file = file });
            return export.Ok && export.Result!["images"]!.AsArray().Any(i => (long)i!["req_count"]! >= 10);
        });
        var start = DateTimeOffset.Parse((string)export.Result!["window_start"]!, System.Globalization.CultureInfo.InvariantCulture);
        var end = DateTimeOffset.Parse((string)export.Result["window_end"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromMinutes(10), end - start);
        Assert.Contains("1m, 5m and 1h", (string)export.Result["note"]!, StringComparison.Ordinal);
        Assert.Contains("\"img.rca\"", await File.ReadAllTextAsync(file), StringComparison.Ordinal);
    }
}
