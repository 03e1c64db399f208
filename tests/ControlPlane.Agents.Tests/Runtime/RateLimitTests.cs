using System.Diagnostics;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Runtime;

[Collection(PlatformCollection.Name)]
public sealed class RateLimitTests(AgentPlatform platform)
{
    [Fact]
    public async Task AnAgent_SendsNoMoreThanItsRate()
    {
        // 10 QPS (the reference's default): 11 probes need at least a second.
        await using var session = platform.Session(platform.Options with { RateLimitQps = 10, Dataplanes = [.. Enumerable.Repeat(platform.NodeBase, 10)] });
        var watch = Stopwatch.StartNew();
        var check = await session.RunAsync("health", "check");
        watch.Stop();
        Assert.True(check.Ok, check.ToJson());
        Assert.Equal(11, check.Result!["targets"]!.AsArray().Count);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.95), $"11 requests in {watch.Elapsed}");
    }
}
