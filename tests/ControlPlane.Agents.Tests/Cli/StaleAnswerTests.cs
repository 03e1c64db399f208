using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>
/// A control plane that answers from a replica's memory (x-platform-last-contact: its store is
/// unreachable) and no other address: cpctl returns the answer, but never as if it were current.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class StaleAnswerTests(AgentPlatform platform)
{
    [Fact]
    public async Task AnAnswerFromMemory_IsMarkedInTheEnvelope_WarnedOnStderrEvenWhenQuiet_AndSaidInTheTable()
    {
        await using var replica = await MemoryReplica.StartAsync("GetPolicy");
        var environment = new Dictionary<string, string>(platform.CpctlEnvironment) { ["AGENT_SD_BASE"] = replica.Address.ToString() };

        var json = await Cpctl.RunAsync(environment, "sd", "list", "-o", "json", "--quiet");
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal(MemoryReplica.LastContactMs, json.Envelope.Stale?.LastContactMs);
        Assert.Contains("\"stale\"", json.Stdout, StringComparison.Ordinal);
        Assert.Contains("memory", json.Stderr, StringComparison.Ordinal);

        // A NOT_FOUND from memory ("no stored policy") is not the store's word either.
        var table = await Cpctl.RunAsync(environment, "lb-policy", "get", "img.stale", "--quiet");
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("served from a control-plane replica's memory", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("123.5 s", table.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"level\":\"warn\"", table.Stderr, StringComparison.Ordinal);
    }
}
