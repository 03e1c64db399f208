using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Traffic;

[Collection(PlatformCollection.Name)]
public sealed class TrafficGenAgentTests(AgentPlatform platform)
{
    [Fact]
    public async Task Run_ReportsTheDistributionPerInstance_AndLatencyPercentiles()
    {
        await using var fleet = await platform.RegisterAsync("img.traffic", "tg-");
        await using var session = platform.Session();
        var run = await session.RunAsync("trafficgen", "run", new { image = "img.traffic", path = "/api/health", rps = 40, duration_s = 1.5, poll_stats_s = 0.5 });
        Assert.True(run.Ok, run.ToJson());
        var result = run.Result!;
        Assert.Equal(60, (long)result["sent"]!);
        Assert.Equal(60, (long)result["ok"]!);
        Assert.Equal(60, (long)result["statuses"]!["200"]!);
        // Round robin over three backends: every one served, in equal shares.
        var distribution = result["distribution"]!.AsArray().ToDictionary(d => (string)d!["instance"]!, d => (long)d!["count"]!);
        Assert.Equal(["b1", "b2", "b3"], distribution.Keys.Order());
        Assert.All(distribution.Values, count => Assert.Equal(20, count));
        var latency = result["latency_ms"]!;
        Assert.True((double)latency["p50"]! > 0);
        Assert.True((double)latency["p50"]! <= (double)latency["p95"]! && (double)latency["p95"]! <= (double)latency["p99"]!);
        Assert.True((double)result["elapsed_s"]! >= 1.4, result.ToJsonString());
        Assert.Contains("distribution per instance", run.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_IsRefusedWithoutAllowProd_AndWithoutApproval_SendingNothing()
    {
        await using var fleet = await platform.RegisterAsync("img.prod", "pr-", [platform.Backends[0]]);
        await using var session = platform.Session(platform.Options with { Environment = "production" });
        var input = new { image = "img.prod", rps = 20, duration_s = 0.5, poll_stats_s = 0 };
        var proxied = await platform.ProxiedRequestsAsync();

        var refused = await session.RunAsync("trafficgen", "run", input);
        Assert.Equal(AgentErrorCodes.ProductionRefused, refused.Error!.Code);
        var unapproved = await session.RunAsync("trafficgen", "run", new { input.image, input.rps, input.duration_s, input.poll_stats_s, allow_prod = true });
        Assert.Equal(AgentErrorCodes.ApprovalRequired, unapproved.Error!.Code);
        Assert.Equal(proxied, await platform.ProxiedRequestsAsync());

        var approved = await session.RunAsync("trafficgen", "run", new { input.image, input.rps, input.duration_s, input.poll_stats_s, allow_prod = true }, approve: true);
        Assert.True(approved.Ok, approved.ToJson());
        Assert.Equal(10, (long)approved.Result!["ok"]!);
        Assert.Equal(proxied + 10, await platform.ProxiedRequestsAsync());
    }

    [Fact]
    public async Task EveryRequestFailing_IsReportedByWhatFailed()
    {
        await using var fleet = await platform.RegisterAsync("img.failing", "tf-", [platform.Backends[0]]);
        await using var session = platform.Session();

        // The dataplane's own answer (404 not_found: it has no such image) gives the code.
        var unknown = await session.RunAsync("trafficgen", "run", new { image = "img.nowhere", rps = 20, duration_s = 0.25, poll_stats_s = 0 });
        Assert.Equal(AgentErrorCodes.NotFound, unknown.Error!.Code);
        Assert.Contains("\"404\":5", unknown.Error.Detail, StringComparison.Ordinal);

        // The instance's own 404s (no error code of the dataplane's): not_found too.
        var missing = await session.RunAsync("trafficgen", "run", new { image = "img.failing", path = "/status/404", rps = 20, duration_s = 0.25, poll_stats_s = 0 });
        Assert.Equal(AgentErrorCodes.NotFound, missing.Error!.Code);

        // The instance failing (its 500s): nothing was unreachable.
        var broken = await session.RunAsync("trafficgen", "run", new { image = "img.failing", path = "/status/500", rps = 20, duration_s = 0.25, poll_stats_s = 0 });
        Assert.Equal(AgentErrorCodes.RequestsFailed, broken.Error!.Code);

        // Nothing answering at all: the dataplane is unreachable.
        var unreachable = await session.RunAsync("trafficgen", "run", new { image = "img.failing", rps = 20, duration_s = 0.25, poll_stats_s = 0, dataplane = "http://127.0.0.1:1" });
        Assert.Equal(AgentErrorCodes.BackendUnreachable, unreachable.Error!.Code);
    }
}
