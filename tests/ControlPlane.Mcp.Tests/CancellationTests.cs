using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>Tool calls run concurrently with everything else; notifications/cancelled stops one; progress and log notifications.</summary>
public sealed class CancellationTests
{
    private static JsonObject Slow(string key) => new() { ["name"] = SampleTools.Slow, ["arguments"] = new JsonObject { ["key"] = key } };

    [Fact]
    public async Task A_slow_call_does_not_hold_up_ping_or_other_calls()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        await host.Client.SendRequestAsync("slow", "tools/call", Slow("a"));
        await host.Probe.GateFor("a").Started.Task.DefaultTimeout();

        await host.Client.ResultAsync("ping");
        Assert.Equal("top of img.a", (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = "img.a" })).Result().ToolText());
        Assert.DoesNotContain(host.Client.Unread(), m => m.TryGetProperty("id", out var id) && id.GetRawText() == "\"slow\"");

        host.Probe.GateFor("a").Release.SetResult();
        Assert.Equal("released a", (await host.Client.ResponseAsync("\"slow\"")).Result().ToolText());
    }

    [Fact]
    public async Task Calls_run_at_the_same_time_and_each_answer_carries_its_id()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        foreach (var key in new[] { "a", "b", "c" })
        {
            await host.Client.SendRequestAsync(key, "tools/call", Slow(key));
        }
        // All three are running at once before any is released.
        await Task.WhenAll(new[] { "a", "b", "c" }.Select(k => host.Probe.GateFor(k).Started.Task)).DefaultTimeout();
        foreach (var key in new[] { "c", "a", "b" })
        {
            host.Probe.GateFor(key).Release.SetResult();
            Assert.Equal("released " + key, (await host.Client.ResponseAsync($"\"{key}\"")).Result().ToolText());
        }
    }

    [Fact]
    public async Task Cancelled_calls_stop_and_are_not_answered()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        await host.Client.SendRequestAsync(41, "tools/call", Slow("a"));
        await host.Client.SendRequestAsync("s-42", "tools/call", Slow("b"));
        await Task.WhenAll(host.Probe.GateFor("a").Started.Task, host.Probe.GateFor("b").Started.Task).DefaultTimeout();

        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = 41, ["reason"] = "user stopped it" });
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = "s-42" });
        await Task.WhenAll(host.Probe.GateFor("a").Cancelled.Task, host.Probe.GateFor("b").Cancelled.Task).DefaultTimeout();
        await host.Client.ResultAsync("ping");
        var rest = await host.Client.CloseAsync();

        Assert.DoesNotContain(rest, m => m.TryGetProperty("id", out _) && !m.TryGetProperty("method", out _));
        Assert.Contains(host.LogEvents(11003), e => e.GetProperty("outcome").GetString() == "cancelled");
    }

    [Fact]
    public async Task Cancelling_an_unknown_or_finished_request_changes_nothing()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = "img.a" })).Result();

        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = 1 });
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = "never" });
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = new JsonObject() });
        await host.Client.SendRequestAsync("slow", "tools/call", Slow("a"));
        await host.Probe.GateFor("a").Started.Task.DefaultTimeout();
        // A string "1" is not the number 1.
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = "slow2" });
        host.Probe.GateFor("a").Release.SetResult();

        (await host.Client.ResponseAsync("\"slow\"")).Result();
        Assert.False(host.Probe.GateFor("a").Cancelled.Task.IsCompleted);
    }

    [Fact]
    public async Task A_call_over_the_concurrency_limit_is_refused_at_once()
    {
        await using var host = await McpTestHost.StartInitializedAsync(configure: o => o with { MaxConcurrentCalls = 1 });
        await host.Client.SendRequestAsync("first", "tools/call", Slow("a"));
        await host.Probe.GateFor("a").Started.Task.DefaultTimeout();

        var busy = (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = "img.a" })).Error(-32000);

        Assert.Contains("1 tool calls are in progress", busy.Message());
        host.Probe.GateFor("a").Release.SetResult();
        (await host.Client.ResponseAsync("\"first\"")).Result();
        (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = "img.a" })).Result();
    }

    [Fact]
    public async Task An_id_in_use_by_a_running_call_is_refused()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        await host.Client.SendRequestAsync(7, "tools/call", Slow("a"));
        await host.Probe.GateFor("a").Started.Task.DefaultTimeout();

        await host.Client.SendRequestAsync(7, "tools/call", Slow("b"));
        var duplicate = await host.Client.ResponseAsync("7");

        Assert.Contains("already used by a call in progress", duplicate.Error(-32600).Message());
        host.Probe.GateFor("a").Release.SetResult();
        Assert.Equal("released a", (await host.Client.ResponseAsync("7")).Result().ToolText());
        Assert.False(host.Probe.GateFor("b").Started.Task.IsCompleted);
    }

    [Fact]
    public async Task Progress_goes_to_the_token_the_client_gave_and_logs_follow_the_level_it_set()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        await host.Client.ResultAsync("logging/setLevel", new JsonObject { ["level"] = "warning" });
        var call = Slow("a");
        call["_meta"] = new JsonObject { ["progressToken"] = "tok-1" };

        await host.Client.SendRequestAsync("slow", "tools/call", call);
        var progress = await host.Client.ServerMessageAsync("notifications/progress");
        var log = await host.Client.ServerMessageAsync("notifications/message");
        host.Probe.GateFor("a").Release.SetResult();
        await host.Client.ResponseAsync("\"slow\"");

        Assert.Equal("\"tok-1\"", progress.GetProperty("params").GetProperty("progressToken").GetRawText());
        Assert.Equal(1, progress.GetProperty("params").GetProperty("progress").GetDouble());
        Assert.Equal(2, progress.GetProperty("params").GetProperty("total").GetDouble());
        Assert.Equal("waiting", progress.GetProperty("params").GetProperty("message").GetString());
        Assert.Equal("warning", log.GetProperty("params").GetProperty("level").GetString());
        Assert.Equal("slow call still waiting", log.GetProperty("params").GetProperty("data").GetString());
        // The info message was below the level: only one log notification was sent.
        Assert.Empty(await host.Client.CloseAsync());
    }

    [Fact]
    public async Task Without_a_progress_token_no_progress_is_sent_and_an_unknown_log_level_is_invalid()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        (await host.Client.RequestAsync("logging/setLevel", new JsonObject { ["level"] = "verbose" })).Error(-32602);
        await host.Client.SendRequestAsync("slow", "tools/call", Slow("a"));
        await host.Probe.GateFor("a").Started.Task.DefaultTimeout();
        host.Probe.GateFor("a").Release.SetResult();
        await host.Client.ResponseAsync("\"slow\"");

        Assert.DoesNotContain(host.Client.Lines, l => l.Contains("notifications/progress", StringComparison.Ordinal));
        // The default level is info: both of the tool's messages were sent.
        Assert.Equal(2, host.Client.Lines.Count(l => l.Contains("notifications/message", StringComparison.Ordinal)));
    }
}
