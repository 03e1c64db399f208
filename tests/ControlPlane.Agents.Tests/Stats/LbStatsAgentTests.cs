using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Stats;

[Collection(PlatformCollection.Name)]
public sealed class LbStatsAgentTests(AgentPlatform platform)
{
    [Fact]
    public async Task Images_AsTableCsvAndMarkdown_WithTheTopInstances()
    {
        await using var fleet = await platform.RegisterAsync("img.stats", "st-", [platform.Backends[0], platform.Backends[1]]);
        for (var i = 0; i < 30; i++)
        {
            await platform.Node.GetAsync("img.stats", "/x");
        }
        await using var session = platform.Session();
        AgentEnvelope csv = null!;
        // The node reports every second: until the stats have counted the requests (and the probes).
        await Eventually.WaitAsync("img.stats counted", async () =>
        {
            csv = await session.RunAsync("lb-stats", "images", new { window = "1m", image = "img.stats", top = 2, format = "csv" });
            return csv.Ok && csv.Result!["images"]!.AsArray().Count == 1 && (long)csv.Result["images"]![0]!["req_count"]! >= 30;
        });
        var lines = csv.Text!.Split("\r\n");
        Assert.Equal("image,rps_avg,bytes_tx,req_count,errors_4xx,errors_5xx,latency_p50_ms,latency_p95_ms,latency_p99_ms", lines[0]);
        Assert.StartsWith("img.stats,", lines[1], StringComparison.Ordinal);
        var top = csv.Result!["top_instances"]!.AsArray();
        Assert.Equal(2, top.Count);
        Assert.True((long)top[0]!["req_count"]! >= (long)top[1]!["req_count"]!);

        var markdown = await session.RunAsync("lb-stats", "images", new { window = "5m", image = "img.stats", format = "markdown" });
        Assert.StartsWith("| image | rps_avg |", markdown.Text, StringComparison.Ordinal);
        Assert.Contains("| img.stats |", markdown.Text, StringComparison.Ordinal);

        var instances = await session.RunAsync("lb-stats", "instances", new { image = "img.stats", top = 1, post = true });
        Assert.Single(instances.Result!["instances"]!.AsArray());
        Assert.StartsWith("IMAGE", instances.Text, StringComparison.Ordinal);
        Assert.Contains(platform.Sink.Messages, m => m.GetProperty("kind").GetString() == "report" && m.GetProperty("text").GetString()!.Contains("img.stats", StringComparison.Ordinal));

        var bad = await session.RunAsync("lb-stats", "images", new { window = "10m" });
        Assert.Equal(AgentErrorCodes.InvalidRequest, bad.Error!.Code);
        Assert.Contains("'10m' is not one of 1m, 5m, 1h", bad.Error.Detail, StringComparison.Ordinal);
    }
}
