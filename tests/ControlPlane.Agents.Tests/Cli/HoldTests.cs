using System.Collections.Concurrent;
using System.Diagnostics;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>
/// `cpctl sd register` holding its instances' leases while the control plane goes away (a control
/// plane of the test's own, killed): the failures are reported, and Ctrl-C does not claim a
/// deregistration that did not happen.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class HoldTests(AgentPlatform platform)
{
    [Fact]
    public async Task HeartbeatFailures_AreWarnedEachRound_AndAlertedAfterTheRetries()
    {
        await using var controlPlane = await ControlPlaneProcess.StartAsync();
        await using var held = await HeldAsync(controlPlane, "hold-m1");
        var alertsBefore = platform.Sink.Messages.Count;

        await controlPlane.KillAsync();

        await Eventually.WaitAsync("an alert about the failing heartbeats on the user channel", () =>
            platform.Sink.Messages.Skip(alertsBefore).Any(m => m.GetProperty("kind").GetString() == "alert" && m.GetProperty("text").GetString()!.Contains("heartbeats", StringComparison.Ordinal)));
        Assert.True(held.StderrLines.Count(l => l.Contains("heartbeat round failed", StringComparison.Ordinal)) >= 2, held.Stderr);
    }

    [Fact]
    public async Task CtrlC_WithTheControlPlaneDown_SaysWhatWasNotDeregistered_AndExits1()
    {
        await using var controlPlane = await ControlPlaneProcess.StartAsync();
        await using var held = await HeldAsync(controlPlane, "hold-m2");

        await controlPlane.KillAsync();
        await Cpctl.InterruptAsync(held.Process);
        await Cpctl.WaitForExitAsync(held.Process);

        Assert.True(held.Process.ExitCode == 1, held.Stderr);
        Assert.Contains("hold-m2 could not be deregistered", held.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("drained and deregistered", held.Stderr, StringComparison.Ordinal);
    }

    /// <summary>cpctl sd register holding one instance (2 s lease, a beat every second) on <paramref name="controlPlane"/>, quiet, AGENT_RETRY=1.</summary>
    private async Task<HeldProcess> HeldAsync(ControlPlaneProcess controlPlane, string id)
    {
        var file = Path.Combine(platform.StateDirectory, id + "-" + Guid.NewGuid().ToString("N")[..6] + ".json");
        await File.WriteAllTextAsync(file, $$"""
            {"instances": [{"name": "hold-svc", "image": "img.hold", "instance_id": "{{id}}", "host": "127.0.0.1", "port": {{platform.Backends[2].Port}}, "ttl_seconds": 2}]}
            """);
        var environment = new Dictionary<string, string>(platform.CpctlEnvironment)
        {
            ["AGENT_SD_BASE"] = controlPlane.GrpcAddress,
            ["AGENT_LB_BASE"] = controlPlane.Client.BaseAddress!.ToString(),
            ["AGENT_RETRY"] = "1",
            ["AGENT_REQUEST_TIMEOUT_S"] = "2",
        };
        var held = new HeldProcess(Cpctl.Start(environment, "sd", "register", "--file", file, "--quiet"));
        await Eventually.WaitAsync($"cpctl holding {id}", () => held.Stderr.Contains("keeping 1 instance(s) alive", StringComparison.Ordinal) || held.Process.HasExited);
        Assert.False(held.Process.HasExited, held.Stderr);
        return held;
    }

    private sealed class HeldProcess : IAsyncDisposable
    {
        private readonly ConcurrentQueue<string> _stderr = new();

        public HeldProcess(Process process)
        {
            Process = process;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    _stderr.Enqueue(e.Data);
                }
            };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
        }

        public Process Process { get; }

        public IReadOnlyList<string> StderrLines => [.. _stderr];

        public string Stderr => string.Join('\n', _stderr);

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync().DefaultTimeout();
            }
            Process.Dispose();
        }
    }
}
