using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Health;

[Collection(PlatformCollection.Name)]
public sealed class HealthAgentTests(AgentPlatform platform)
{
    [Fact]
    public async Task Watch_OpensAnIncidentWithContext_AndClosesItAfterThreeSuccesses()
    {
        platform.Sink.ReadyStatus = 503;
        platform.Sink.ReadyBody = "not_ready: store unreachable";
        try
        {
            var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
            await using var session = platform.Session(time: time);
            string[] targets = [platform.HttpBase.ToString(), platform.NodeBase.ToString(), platform.Sink.Target.ToString()];
            var seen = platform.Sink.Messages.Count;
            var watch = session.RunTaskAsync("health", "watch", new { interval_s = 30, rounds = 5, targets });

            // The first round runs at once: the failing target opens an incident.
            await Eventually.WaitAsync("incident_opened", () => platform.Sink.Messages.Skip(seen).Any(m => m.GetProperty("kind").GetString() == "incident_opened"));
            var opened = platform.Sink.Messages.Skip(seen).Single(m => m.GetProperty("kind").GetString() == "incident_opened");
            Assert.Equal("target-3", opened.GetProperty("target").GetString());
            Assert.Equal(503, opened.GetProperty("first_failure").GetProperty("status_code").GetInt32());
            Assert.Equal("not_ready: store unreachable", opened.GetProperty("first_failure").GetProperty("body").GetString());
            Assert.Equal(1, opened.GetProperty("recent_failures").GetArrayLength());

            platform.Sink.ReadyStatus = 200;
            platform.Sink.ReadyBody = "ok";
            await Eventually.WaitAsync("the watch's five rounds", () =>
            {
                // Only while the watch waits for its next round: advancing during a round would stretch it.
                if (time.ActiveTimers > 0)
                {
                    time.Advance(TimeSpan.FromSeconds(30));
                }
                return watch.IsCompleted;
            });
            var envelope = await watch.DefaultTimeout();
            Assert.True(envelope.Ok, envelope.ToJson());
            Assert.Equal(5, (int)envelope.Result!["rounds"]!);
            Assert.Equal(0, (int)envelope.Result["open_incidents"]!);
            var incident = envelope.Result["incidents"]!.AsArray().Single()!;
            Assert.Equal("resolved", (string?)incident["status"]);
            var resolved = platform.Sink.Messages.Skip(seen).Single(m => m.GetProperty("kind").GetString() == "incident_resolved");
            Assert.Equal(opened.GetProperty("incident_id").GetString(), resolved.GetProperty("incident_id").GetString());
            // Closed by the third success in a row: round 4, 90 s after it opened.
            Assert.Equal(TimeSpan.FromSeconds(90), DateTimeOffset.Parse(resolved.GetProperty("closed_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
                - DateTimeOffset.Parse(resolved.GetProperty("opened_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            platform.Sink.ReadyStatus = 200;
            platform.Sink.ReadyBody = "ok";
        }
    }

    [Fact]
    public async Task Check_ProbesTheControlPlaneAndTheDataplanes()
    {
        await using var session = platform.Session();
        var ok = await session.RunAsync("health", "check");
        Assert.True(ok.Ok, ok.ToJson());
        Assert.Equal(["control-plane", "dataplane-1"], ok.Result!["targets"]!.AsArray().Select(t => (string)t!["target"]!));

        await using var broken = platform.Session(platform.Options with { Dataplanes = [platform.NodeBase, new Uri("http://127.0.0.1:1")] });
        var failed = await broken.RunAsync("health", "check");
        Assert.Equal(AgentErrorCodes.NotReady, failed.Error!.Code);
        Assert.Contains("dataplane-2", failed.Error.Detail, StringComparison.Ordinal);
    }
}
