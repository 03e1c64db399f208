using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>What cpctl makes of its command line: '@' values, errors without stack traces or echoed secrets, JSON error envelopes.</summary>
[Collection(PlatformCollection.Name)]
public sealed class CommandLineTests(AgentPlatform platform)
{
    [Fact]
    public async Task AllowListFromAFile_AsDocumented_Works()
    {
        var file = Path.Combine(platform.StateDirectory, "allow-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await File.WriteAllTextAsync(file, """{"lb-policy-agent": ["lb_policy_agent__*", "lb_stats_agent__*"]}""");
        // stdin is closed: the session starts, reads end of input, and ends.
        var mcp = await Cpctl.RunAsync(platform.CpctlEnvironment, "mcp", "--agent", "lb-policy-agent", "--allow-list", "@" + file);
        Assert.True(mcp.ExitCode == 0, mcp.ToString());
        Assert.DoesNotContain("Unrecognized", mcp.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValuesStartingWithAt_AreValues()
    {
        var set = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "set", "img.at", "--algorithm", "round_robin", "--reason", "@oncall approved", "--dry-run", "-o", "json");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal("@oncall approved", (string?)set.Envelope.Request!["reason"]);
    }

    [Theory]
    [InlineData("mcp", "--agent", "sd-agent", "--allow-list", "@/tmp")]
    [InlineData("mcp", "--agent", "sd-agent", "--allow-list", "@/nonexistent")]
    [InlineData("sd", "list", "--name", "@/", "--dry-run", "--input-file", "/tmp")]
    public async Task BadFiles_AreOneLineUsageErrors_NeverAStackTrace(params string[] args)
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, args);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.DoesNotContain("Unhandled exception", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMisspelledFlag_DoesNotEchoItsValue()
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", "img.a", "--platfrom-token", "S3cr3t-in-a-typo");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains("--platfrom-token", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("S3cr3t-in-a-typo", result.Stderr + result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InJsonMode_ConfigurationAndUsageErrors_AreErrorEnvelopesOnStdout()
    {
        var environment = new Dictionary<string, string>(platform.CpctlEnvironment) { ["AGENT_PLATFORM_TOKEN_FILE"] = "/nonexistent/token" };
        var config = await Cpctl.RunAsync(environment, "lb-policy", "get", "img.a", "-o", "json");
        Assert.True(config.ExitCode == 2, config.ToString());
        Assert.Equal(("lb-policy-agent", "get-policy", AgentErrorCodes.ConfigInvalid), (config.Envelope.Agent, config.Envelope.Action, config.Envelope.Error!.Code));

        var timeout = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", "img.a", "--timeout-s", "soon", "-o", "json");
        Assert.True(timeout.ExitCode == 2, timeout.ToString());
        Assert.Equal(AgentErrorCodes.ConfigInvalid, timeout.Envelope.Error!.Code);

        var flag = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", "img.a", "--no-such-flag", "-o", "json");
        Assert.True(flag.ExitCode == 2, flag.ToString());
        Assert.Equal(AgentErrorCodes.InvalidRequest, flag.Envelope.Error!.Code);
        Assert.Contains("--no-such-flag", flag.Envelope.Error.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UrlUserInfo_IsRefused_AndNeverPrinted()
    {
        // gRPC calls go to the authority: a password in the URL would be dropped, never sent.
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "list", "--sd-base", "http://u:pw-in-url@127.0.0.1:1", "--dry-run", "-o", "json");
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal(AgentErrorCodes.ConfigInvalid, result.Envelope.Error!.Code);
        Assert.Contains("--sd-base: must not hold a user name or password", result.Envelope.Error.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("pw-in-url", result.Stdout + result.Stderr, StringComparison.Ordinal);

        var path = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "list", "--sd-base", "http://127.0.0.1:1/controlplane", "--dry-run", "-o", "json");
        Assert.True(path.ExitCode == 2, path.ToString());
        Assert.Contains("a path, query or fragment would be ignored", path.Envelope.Error!.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HelpAndOutput_Details()
    {
        var help = await Cpctl.RunAsync(platform.CpctlEnvironment, "sd", "register", "--help");
        Assert.Contains("Turn off with --heartbeat false", help.Stdout, StringComparison.Ordinal);

        var plan = await Cpctl.RunAsync(platform.CpctlEnvironment, "incident", "export-stats", "--dry-run", "-o", "json");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        Assert.DoesNotContain("1970", plan.Stdout, StringComparison.Ordinal);

        // No channel configured: a successful change's announcement is not a warning under --quiet.
        var environment = new Dictionary<string, string>(platform.CpctlEnvironment);
        environment.Remove("AGENT_USER_CHANNEL");
        await using var fleet = await platform.RegisterAsync("img.quiet", "q-", [platform.Backends[0]]);
        var set = await Cpctl.RunAsync(environment, "lb-policy", "set", "img.quiet", "--algorithm", "round_robin", "--approve", "--quiet");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Empty(set.Stderr);
        Assert.Equal(0, (await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "delete", "img.quiet", "--approve", "--quiet")).ExitCode);
    }

    [Fact]
    public async Task AnUnreachableControlPlane_IsNamedInTheError()
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", "img.a", "--sd-base", "http://127.0.0.1:1", "--timeout-s", "1", "--retry", "0", "-o", "json");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(AgentErrorCodes.BackendUnreachable, result.Envelope.Error!.Code);
        Assert.Contains("127.0.0.1:1", result.Envelope.Error.Detail, StringComparison.Ordinal);
    }
}
