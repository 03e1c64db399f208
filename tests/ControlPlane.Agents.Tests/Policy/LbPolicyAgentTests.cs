using System.Text.Json;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Policy;

[Collection(PlatformCollection.Name)]
public sealed class LbPolicyAgentTests(AgentPlatform platform)
{
    [Fact]
    public async Task MajorChanges_AreRefusedWithoutApproval_ChangingNothing_AndGoThroughWithIt()
    {
        const string image = "img.policy";
        await using var fleet = await platform.RegisterAsync(image, "p-");
        await using var session = platform.Session();
        var weights = new Dictionary<string, int> { ["p-b1"] = 2, ["p-b2"] = 1 };

        // From no policy (round_robin: every weight 1) to p-b1 = 2 is +100%: needs a human.
        var refused = await session.RunAsync("lb-policy", "set", new { image, algorithm = "weighted_rr", weights });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, refused.Error!.Code);
        Assert.Contains("the weight of p-b1 changes by more than 50%: 1 -> 2 (+100%)", refused.Error.Detail, StringComparison.Ordinal);
        Assert.Contains("weight p-b1: 1 -> 2 (+100%)", refused.Result!["diff"]!["lines"]!.AsArray().Select(l => (string?)l));
        Assert.Null(await platform.PolicyAsync(image));
        Assert.Equal(0, await ChangesAsync(image));

        var approved = await session.RunAsync("lb-policy", "set", new { image, algorithm = "weighted_rr", weights, reason = "canary" }, approve: true, traceId: "trace-policy-1");
        Assert.True(approved.Ok, approved.ToJson());
        Assert.Contains("weight p-b1: 1 -> 2 (+100%)", approved.Text, StringComparison.Ordinal);
        var stored = (await platform.PolicyAsync(image))!.Value;
        Assert.Equal("weighted_rr", stored.GetProperty("algorithm").GetString());
        Assert.Equal(2, stored.GetProperty("weights").GetProperty("p-b1").GetInt32());
        // The audit trail names the agent and carries the trace id as the request id.
        var change = await LastChangeAsync(image);
        Assert.Equal("lb-policy-agent", change.GetProperty("actor").GetString());
        Assert.Equal("trace-policy-1", change.GetProperty("request_id").GetString());
        Assert.Contains(platform.Sink.Messages, m => m.GetProperty("kind").GetString() == "announcement" && m.GetProperty("text").GetString()!.Contains(image, StringComparison.Ordinal));

        // +50% is not more than 50%: no approval needed.
        var small = await session.RunAsync("lb-policy", "set", new { image, algorithm = "weighted_rr", weights = new Dictionary<string, int> { ["p-b1"] = 3, ["p-b2"] = 1 } });
        Assert.True(small.Ok, small.ToJson());
        Assert.Equal(3, (await platform.PolicyAsync(image))!.Value.GetProperty("weights").GetProperty("p-b1").GetInt32());

        // Another class of algorithm needs approval.
        var leastConn = await session.RunAsync("lb-policy", "set", new { image, algorithm = "least_conn" });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, leastConn.Error!.Code);
        Assert.Contains("weighted_rr (rotation) -> least_conn (load-aware)", leastConn.Error.Detail, StringComparison.Ordinal);
        Assert.Equal("weighted_rr", (await platform.PolicyAsync(image))!.Value.GetProperty("algorithm").GetString());

        // A delete always does.
        var delete = await session.RunAsync("lb-policy", "delete", new { image });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, delete.Error!.Code);
        Assert.NotNull(await platform.PolicyAsync(image));
        var deleted = await session.RunAsync("lb-policy", "delete", new { image }, approve: true);
        Assert.True(deleted.Ok, deleted.ToJson());
        Assert.Null(await platform.PolicyAsync(image));
        Assert.Equal("cpctl lb-policy set img.policy --algorithm weighted_rr --weight p-b1=3 --weight p-b2=1 --reason 'restore after delete' --approve", (string?)deleted.Result!["restore_command"]);

        var get = await session.RunAsync("lb-policy", "get", new { image });
        Assert.Equal("round_robin", (string?)get.Result!["effective_algorithm"]);
    }

    [Fact]
    public async Task AnImageWithoutLiveInstances_OrAWrongToken_ChangesNothing()
    {
        await using var session = platform.Session();
        var empty = await session.RunAsync("lb-policy", "set", new { image = "img.nobody", algorithm = "least_conn" }, approve: true);
        Assert.Equal(AgentErrorCodes.NotFound, empty.Error!.Code);
        Assert.Null(await platform.PolicyAsync("img.nobody"));

        await using var fleet = await platform.RegisterAsync("img.token", "t-", [platform.Backends[0]]);
        Environment.SetEnvironmentVariable("CONTROLPLANE_AGENTS_TESTS_WRONG_TOKEN", "not-the-platform-token");
        await using var wrong = platform.Session(platform.Options with { PlatformTokenVariable = "CONTROLPLANE_AGENTS_TESTS_WRONG_TOKEN" });
        var refused = await wrong.RunAsync("lb-policy", "set", new { image = "img.token", algorithm = "least_conn" }, approve: true);
        Assert.Equal(AgentErrorCodes.Unauthorized, refused.Error!.Code);
        Assert.Null(await platform.PolicyAsync("img.token"));
        Assert.DoesNotContain("not-the-platform-token", wrong.AllOutput, StringComparison.Ordinal);
    }

    private async Task<int> ChangesAsync(string image)
    {
        using var document = JsonDocument.Parse(await platform.ControlPlane.Client.GetStringAsync($"/v1/policy/{image}/changes").DefaultTimeout());
        return document.RootElement.GetProperty("changes").GetArrayLength();
    }

    private async Task<JsonElement> LastChangeAsync(string image)
    {
        using var document = JsonDocument.Parse(await platform.ControlPlane.Client.GetStringAsync($"/v1/policy/{image}/changes").DefaultTimeout());
        return document.RootElement.GetProperty("changes")[0].Clone();
    }
}
