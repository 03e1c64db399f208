using System.Text.Json;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>cpctl driven as a user drives it: its own process, the environment, exit codes, the JSON envelope.</summary>
[Collection(PlatformCollection.Name)]
public sealed class CpctlTests(AgentPlatform platform)
{
    [Fact]
    public async Task Help_ListsEveryAgent_AndEveryActionHasHelp()
    {
        var help = await Cpctl.RunAsync(new Dictionary<string, string>(), "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (var command in new[] { "sd", "lb-policy", "lb-stats", "billing", "health", "trafficgen", "chaos", "incident" })
        {
            Assert.Contains(command, help.Stdout, StringComparison.Ordinal);
        }
        var set = await Cpctl.RunAsync(new Dictionary<string, string>(), "lb-policy", "set", "--help");
        Assert.Equal(0, set.ExitCode);
        Assert.Contains("--weight", set.Stdout, StringComparison.Ordinal);
        Assert.Contains("--approve", set.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("no-such-agent")]
    [InlineData("lb-policy")]
    [InlineData("lb-policy", "set", "--algorithm", "round_robin")]
    [InlineData("lb-policy", "set", "img.a", "--algorithm", "fastest")]
    [InlineData("lb-policy", "set", "img.a", "--algorithm", "weighted_rr", "--weight", "i1")]
    [InlineData("lb-stats", "images", "--window", "10m")]
    [InlineData("billing", "export", "--to-dir", "/tmp/x", "--to-url", "http://127.0.0.1:1/")]
    [InlineData("lb-policy", "get", "img.a", "--timeout-s", "soon")]
    [InlineData("lb-policy", "set", "img.a", "--algorithm", "weighted_rr", "--weight", "i1=0", "--approve")]
    [InlineData("lb-policy", "set", "img.a", "--algorithm", "consistent_hash", "--approve")]
    [InlineData("lb-policy", "set", "img.a", "--algorithm", "round_robin", "--sticky-key", "user", "--dry-run")]
    public async Task BadCommandLines_AreUsageErrors(params string[] args)
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, args);
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.NotEmpty(result.Stderr);
    }

    [Fact]
    public async Task TheTokenIsNeverAFlag()
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", "img.a", "--token", "from-the-command-line");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("never taken from a flag", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExitCodes_AndTheJsonEnvelope()
    {
        const string image = "img.cli";
        await using var fleet = await platform.RegisterAsync(image, "cli-", [platform.Backends[0], platform.Backends[1]]);
        var set = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "set", image, "--algorithm", "least_conn", "--output", "json", "--request-id", "cli-trace-1");
        Assert.True(set.ExitCode == 3, set.ToString());
        var refused = set.Envelope;
        Assert.Equal(("lb-policy-agent", "set-policy", "cli-trace-1", "approval_required"), (refused.Agent, refused.Action, refused.TraceId, refused.Error!.Code));
        Assert.Null(await platform.PolicyAsync(image));

        var approved = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "set", image, "--algorithm", "least_conn", "--approve", "-o", "json");
        Assert.True(approved.ExitCode == 0, approved.ToString());
        Assert.Equal("ok", JsonDocument.Parse(approved.Stdout).RootElement.GetProperty("status").GetString());
        // The logs on stderr are JSON lines with the reference's fields.
        var line = JsonDocument.Parse(approved.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).First()).RootElement;
        foreach (var field in new[] { "ts", "agent", "action", "target", "trace_id" })
        {
            Assert.True(line.TryGetProperty(field, out _), $"no {field} in {line}");
        }

        var table = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", image);
        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("img.cli: least_conn", table.Stdout, StringComparison.Ordinal);

        var unreachable = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "get", image, "--sd-base", "http://127.0.0.1:1", "--timeout-s", "1", "--retry", "0", "-o", "json");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Equal(AgentErrorCodes.BackendUnreachable, unreachable.Envelope.Error!.Code);

        var deleted = await Cpctl.RunAsync(platform.CpctlEnvironment, "lb-policy", "delete", image, "--approve", "--quiet");
        Assert.True(deleted.ExitCode == 0, deleted.ToString());
        Assert.Empty(deleted.Stderr);
    }

    [Fact]
    public async Task SdRegister_FromTheReferenceInputFile()
    {
        var file = Path.Combine(platform.StateDirectory, "instances-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await File.WriteAllTextAsync(file, $$"""
            {"instances": [{"name": "video-svc", "image": "img.video.svc", "instance_id": "cli-i1", "host": "127.0.0.1", "port": {{platform.Backends[2].Port}},
              "region": "eu-central", "metadata": {"weight": 2}, "ttl_seconds": 30}]}
            """);
        var registered = await Cpctl.RunAsync(platform.CpctlEnvironment, "sd", "register", "--file", file, "--heartbeat", "false", "-o", "json");
        Assert.True(registered.ExitCode == 0, registered.ToString());
        Assert.Equal(1, (int)registered.Envelope.Result!["registered"]!);
        var instance = (await platform.InstanceAsync("cli-i1"))!.Value;
        Assert.Equal(2, instance.GetProperty("metadata").GetProperty("weight").GetInt32());

        var deregistered = await Cpctl.RunAsync(platform.CpctlEnvironment, "sd", "deregister", "cli-i1", "--approve");
        Assert.True(deregistered.ExitCode == 0, deregistered.ToString());
        Assert.Null(await platform.InstanceAsync("cli-i1"));
    }

    [Fact]
    public async Task SdRegister_HoldsTheHeartbeats_UntilCtrlC_ThenDeregisters()
    {
        var file = Path.Combine(platform.StateDirectory, "hold-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await File.WriteAllTextAsync(file, $$"""
            {"instances": [{"name": "hold-svc", "image": "img.hold", "instance_id": "hold-i1", "host": "127.0.0.1", "port": {{platform.Backends[2].Port}}, "ttl_seconds": 2}]}
            """);
        using var process = Cpctl.Start(platform.CpctlEnvironment, "sd", "register", "--file", file, "--quiet");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // Alive past its 2 s lease: the held process heartbeats it.
            var registeredAt = DateTimeOffset.UtcNow;
            await Eventually.WaitAsync("hold-i1 healthy past its first lease", async () =>
                DateTimeOffset.UtcNow > registeredAt + TimeSpan.FromSeconds(4) && (await platform.InstanceAsync("hold-i1"))?.GetProperty("status").GetString() == "healthy");
            Assert.False(process.HasExited);

            await Cpctl.InterruptAsync(process);
            await Cpctl.WaitForExitAsync(process);
            Assert.True(process.ExitCode == 0, await stderr.DefaultTimeout());
            Assert.Contains("registered 1 instance", await stdout.DefaultTimeout(), StringComparison.Ordinal);
            Assert.Contains("deregistered", await stderr.DefaultTimeout(), StringComparison.Ordinal);
            Assert.Null(await platform.InstanceAsync("hold-i1"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            if (await platform.InstanceAsync("hold-i1") is not null)
            {
                await platform.ControlPlane.DeregisterAsync("hold-i1");
            }
        }
    }
}
