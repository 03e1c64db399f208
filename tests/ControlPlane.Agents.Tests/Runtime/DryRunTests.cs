using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Runtime;

/// <summary>--dry-run sends nothing: the control plane's call counters, the node's request counter, the channel and the disk stay as they were.</summary>
[Collection(PlatformCollection.Name)]
public sealed class DryRunTests(AgentPlatform platform)
{
    [Fact]
    public async Task EveryKindOfAction_PrintsItsRequests_AndSendsNone()
    {
        await using var fleet = await platform.RegisterAsync("img.dry", "dry-");
        var directory = Path.Combine(platform.StateDirectory, "dry-" + Guid.NewGuid().ToString("N")[..6]);
        var calls = await platform.GrpcCallsAsync();
        var proxied = await platform.ProxiedRequestsAsync();
        var messages = platform.Sink.Messages.Count;
        await using var session = platform.Session();

        (string Agent, string Action, object Input)[] actions =
        [
            ("sd", "register", new { instances = new[] { new { name = "dry-svc", image = "img.dry", instance_id = "dry-new", host = "127.0.0.1", port = 9, ttl_seconds = 5 } } }),
            ("sd", "deregister", new { instance_ids = new[] { "dry-b1" } }),
            ("lb-policy", "set", new { image = "img.dry", algorithm = "weighted_rr", weights = new Dictionary<string, int> { ["dry-b1"] = 9 } }),
            ("lb-policy", "delete", new { image = "img.dry" }),
            ("lb-stats", "images", new { window = "1m" }),
            ("billing", "export", new { to_dir = directory }),
            ("health", "check", new { }),
            ("trafficgen", "run", new { image = "img.dry", rps = 100, duration_s = 5 }),
            ("chaos", "expire-instance", new { instance_id = "dry-b1", lease_s = 1 }),
            ("chaos", "delete-instance", new { instance_id = "dry-b1" }),
            ("incident", "flip-policy", new { image = "img.dry" }),
            ("incident", "export-stats", new { }),
        ];
        foreach (var (agent, action, input) in actions)
        {
            var envelope = await session.RunAsync(agent, action, input, approve: true, dryRun: true);
            Assert.True(envelope.Ok, envelope.ToJson());
            Assert.True((bool)envelope.Result!["dry_run"]!);
            Assert.NotEmpty(envelope.Result["requests"]!.AsArray());
            Assert.StartsWith("dry run:", envelope.Text, StringComparison.Ordinal);
        }

        Assert.Equal(calls, await platform.GrpcCallsAsync());
        Assert.Equal(proxied, await platform.ProxiedRequestsAsync());
        Assert.Equal(messages, platform.Sink.Messages.Count);
        Assert.False(Directory.Exists(directory));
        Assert.Equal("healthy", (await platform.InstanceAsync("dry-b1"))!.Value.GetProperty("status").GetString());
        Assert.Null(await platform.InstanceAsync("dry-new"));

        // The admin call shows where the token would go, never the token.
        var set = session.Envelopes.Single(e => e.Action == "set-policy");
        var write = set.Result!["requests"]!.AsArray().Last(r => (string?)r!["method"] == "controlplane.v1.PolicyService/SetPolicy")!;
        Assert.Equal("[REDACTED]", (string?)write["headers"]!["x-platform-token"]);
        Assert.Equal(9, (int)write["body"]!["weights"]!["dry-b1"]!);
        Assert.DoesNotContain(AgentPlatform.Token, session.AllOutput, StringComparison.Ordinal);
    }
}
