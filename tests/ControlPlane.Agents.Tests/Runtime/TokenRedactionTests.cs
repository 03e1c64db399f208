using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Runtime;

/// <summary>Run with a known token, the platform accepts the agents' admin calls, and the token appears nowhere they write.</summary>
[Collection(PlatformCollection.Name)]
public sealed class TokenRedactionTests(AgentPlatform platform)
{
    [Fact]
    public async Task TheToken_IsUsed_ButNeverPrintedLoggedOrPosted()
    {
        const string image = "img.secret";
        await using var fleet = await platform.RegisterAsync(image, "s-", [platform.Backends[0], platform.Backends[1]]);
        var output = new List<CpctlResult>();
        async Task<CpctlResult> Run(IReadOnlyDictionary<string, string> environment, params string[] args)
        {
            var result = await Cpctl.RunAsync(environment, args);
            output.Add(result);
            return result;
        }

        Assert.Equal(0, (await Run(platform.CpctlEnvironment, "lb-policy", "set", image, "--algorithm", "weighted_rr", "--weight", "s-b1=4", "--approve", "-o", "json")).ExitCode);
        Assert.Equal(0, (await Run(platform.CpctlEnvironment, "lb-policy", "set", image, "--algorithm", "round_robin", "--dry-run")).ExitCode);
        Assert.Equal(0, (await Run(platform.CpctlEnvironment, "incident", "flip-policy", image, "--approve")).ExitCode);
        Assert.Equal(0, (await Run(platform.CpctlEnvironment, "billing", "export", "--to-url", platform.Sink.Billing.ToString(), "-o", "json")).ExitCode);
        // From a file (AGENT_PLATFORM_TOKEN_FILE), as a mounted secret: it works the same.
        var tokenFile = Path.Combine(platform.StateDirectory, "token-" + Guid.NewGuid().ToString("N")[..6]);
        await File.WriteAllTextAsync(tokenFile, AgentPlatform.Token + "\n");
        var fromFile = new Dictionary<string, string>(platform.CpctlEnvironment) { ["AGENT_PLATFORM_TOKEN_FILE"] = tokenFile };
        fromFile.Remove("AGENT_PLATFORM_TOKEN");
        Assert.Equal(0, (await Run(fromFile, "lb-policy", "delete", image, "--approve", "-o", "json")).ExitCode);
        Assert.Null(await platform.PolicyAsync(image));

        // In process too: every envelope, text and log line of a session.
        await using var session = platform.Session();
        await session.RunAsync("lb-policy", "set", new { image, algorithm = "weighted_rr", weights = new Dictionary<string, int> { ["s-b1"] = 2 }, reason = "r" }, approve: true);
        await session.RunAsync("incident", "check-readiness");

        foreach (var result in output)
        {
            Assert.DoesNotContain(AgentPlatform.Token, result.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain(AgentPlatform.Token, result.Stderr, StringComparison.Ordinal);
        }
        Assert.Contains("[REDACTED]", output[1].Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(AgentPlatform.Token, session.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(AgentPlatform.Token, platform.Sink.AllText, StringComparison.Ordinal);
        await session.RunAsync("lb-policy", "delete", new { image }, approve: true);
    }

    [Fact]
    public void TheRedactor_MasksTheTokenInAnyText()
    {
        var redactor = new ControlPlane.Agents.Runtime.Redactor([AgentPlatform.Token]);
        Assert.Equal("x-platform-token: [REDACTED]!", redactor.Redact($"x-platform-token: {AgentPlatform.Token}!"));
        var node = System.Text.Json.Nodes.JsonNode.Parse($$"""{"a":["{{AgentPlatform.Token}}"],"{{AgentPlatform.Token}}":1}""");
        Assert.DoesNotContain(AgentPlatform.Token, redactor.Redact(node)!.ToJsonString(), StringComparison.Ordinal);
    }
}
