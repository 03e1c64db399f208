using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>The approval gate of destructive tools: refused without approval (handler not run), run with it, or with the user's answer to an elicitation.</summary>
public sealed class ApprovalTests
{
    private static JsonObject Elicitation => new() { ["elicitation"] = new JsonObject() };

    [Theory]
    [InlineData(null)]
    [InlineData(false)]
    public async Task A_destructive_call_without_approval_is_refused_and_the_handler_does_not_run(bool? approve)
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        var arguments = new JsonObject { ["instance_id"] = "i1" };
        if (approve is { } value)
        {
            arguments["approve"] = value;
        }

        var result = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, arguments)).Result();

        Assert.True(result.IsError());
        Assert.Equal("Tool 'sd.delete-instance' is destructive: call again with approve=true after a human approved it.", result.ToolText());
        Assert.Empty(host.Probe.Invoked);
        var denial = Assert.Single(host.LogEvents(11002));
        Assert.Equal("approval_required", denial.GetProperty("reason").GetString());
        Assert.Equal(SampleTools.DeleteInstance, denial.GetProperty("tool").GetString());
        Assert.Equal(McpTestHost.OpsAgent, denial.GetProperty("agent").GetString());
    }

    [Fact]
    public async Task A_destructive_call_with_approve_true_runs()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var result = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, new JsonObject { ["instance_id"] = "i1", ["approve"] = true })).Result();

        Assert.False(result.IsError());
        Assert.Equal("deleted i1", result.ToolText());
        var call = Assert.Single(host.Probe.Calls);
        Assert.Equal(McpApproval.Argument, call.Approval);
        Assert.Empty(host.LogEvents(11002));
    }

    [Fact]
    public async Task Approve_must_be_a_boolean()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var error = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, new JsonObject { ["instance_id"] = "i1", ["approve"] = "true" })).Error(-32602);

        Assert.Contains("argument 'approve' must be a boolean, not a string", error.Message());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task A_refused_call_does_not_log_its_arguments()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.CallToolAsync(SampleTools.SetPolicy, new JsonObject { ["image"] = "img.a", ["algorithm"] = "least_conn", ["token"] = "tok-very-secret" });

        Assert.Single(host.LogEvents(11002));
        Assert.DoesNotContain("tok-very-secret", string.Join("\n", host.Logs.Lines));
    }

    [Theory]
    [InlineData("2025-06-18", false)]
    [InlineData("2025-11-25", true)]
    public async Task A_client_that_supports_elicitation_is_asked_and_the_users_approval_runs_the_call(string version, bool withMode)
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync(version, Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.DeleteInstance, ["arguments"] = new JsonObject { ["instance_id"] = "i1" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");

        var parameters = question.GetProperty("params");
        Assert.Equal(withMode, parameters.TryGetProperty("mode", out var mode) && mode.GetString() == "form");
        Assert.Contains("sd.delete-instance", parameters.GetProperty("message").GetString());
        Assert.Contains("\"instance_id\":\"i1\"", parameters.GetProperty("message").GetString());
        var schema = parameters.GetProperty("requestedSchema");
        Assert.Equal("boolean", schema.GetProperty("properties").GetProperty("approve").GetProperty("type").GetString());
        Assert.Empty(host.Probe.Invoked);

        await host.Client.SendAsync(new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["id"] = JsonNode.Parse(question.GetProperty("id").GetRawText()),
            ["result"] = new JsonObject { ["action"] = "accept", ["content"] = new JsonObject { ["approve"] = true } },
        });
        var result = (await host.Client.ResponseAsync("1")).Result();

        Assert.Equal("deleted i1", result.ToolText());
        Assert.Equal(McpApproval.Elicitation, Assert.Single(host.Probe.Calls).Approval);
    }

    [Fact]
    public async Task The_question_shows_credential_arguments_redacted()
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync("2025-06-18", Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.SetPolicy, ["arguments"] = new JsonObject { ["image"] = "img.a", ["algorithm"] = "least_conn", ["token"] = "tok-very-secret" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");

        var message = question.GetProperty("params").GetProperty("message").GetString();
        Assert.Contains("\"image\":\"img.a\"", message);
        Assert.Contains("\"token\":\"***\"", message);
        Assert.DoesNotContain("tok-very-secret", message);
    }

    [Theory]
    [InlineData("""{"action":"decline"}""")]
    [InlineData("""{"action":"cancel"}""")]
    [InlineData("""{"action":"accept","content":{"approve":false}}""")]
    [InlineData("""{"action":"accept"}""")]
    public async Task A_user_who_does_not_approve_stops_the_call(string answer)
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync("2025-06-18", Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.DeleteInstance, ["arguments"] = new JsonObject { ["instance_id"] = "i1" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");
        await host.Client.SendRawAsync("""{"jsonrpc":"2.0","id":""" + question.GetProperty("id").GetRawText() + ""","result":""" + answer + "}\n");
        var result = (await host.Client.ResponseAsync("1")).Result();

        Assert.True(result.IsError());
        Assert.Equal("Tool 'sd.delete-instance' was not run: the user did not approve it.", result.ToolText());
        Assert.Empty(host.Probe.Invoked);
        Assert.Equal("approval_declined", Assert.Single(host.LogEvents(11002)).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_elicitation_answered_with_an_error_refuses_the_call()
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync("2025-06-18", Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.DeleteInstance, ["arguments"] = new JsonObject { ["instance_id"] = "i1" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");
        await host.Client.SendRawAsync("""{"jsonrpc":"2.0","id":""" + question.GetProperty("id").GetRawText() + ""","error":{"code":-32601,"message":"no UI"}}""" + "\n");
        var result = (await host.Client.ResponseAsync("1")).Result();

        Assert.True(result.IsError());
        Assert.Contains("call again with approve=true after a human approved it", result.ToolText());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task An_unanswered_question_times_out_refuses_the_call_and_is_cancelled_towards_the_client()
    {
        var time = new ManualTimeProvider();
        await using var host = McpTestHost.Start(configure: o => o with { ApprovalTimeout = TimeSpan.FromMinutes(2) }, time: time);
        await host.Client.InitializeAsync("2025-06-18", Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.DeleteInstance, ["arguments"] = new JsonObject { ["instance_id"] = "i1" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");
        time.Advance(TimeSpan.FromMinutes(2));

        var result = (await host.Client.ResponseAsync("1")).Result();
        Assert.Contains("nobody approved it", result.ToolText());
        var cancelled = await host.Client.ServerMessageAsync("notifications/cancelled");
        Assert.Equal(question.GetProperty("id").GetRawText(), cancelled.GetProperty("params").GetProperty("requestId").GetRawText());
        Assert.Equal("approval_timeout", Assert.Single(host.LogEvents(11002)).GetProperty("reason").GetString());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task Cancelling_the_call_while_the_user_is_asked_cancels_the_question_and_sends_no_answer()
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync("2025-06-18", Elicitation);

        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.DeleteInstance, ["arguments"] = new JsonObject { ["instance_id"] = "i1" } });
        var question = await host.Client.ServerMessageAsync("elicitation/create");
        await host.Client.NotifyAsync("notifications/cancelled", new JsonObject { ["requestId"] = 1, ["reason"] = "user pressed stop" });

        var cancelled = await host.Client.ServerMessageAsync("notifications/cancelled");
        Assert.Equal(question.GetProperty("id").GetRawText(), cancelled.GetProperty("params").GetProperty("requestId").GetRawText());
        var rest = await host.Client.CloseAsync();
        Assert.DoesNotContain(rest, m => m.TryGetProperty("id", out var id) && id.GetRawText() == "1");
        Assert.Empty(host.Probe.Invoked);
    }

    [Theory]
    [InlineData("2025-06-18", """{"elicitation":{}}""", false)]
    [InlineData("2025-03-26", """{"elicitation":{}}""", true)]
    [InlineData("2025-11-25", """{"elicitation":{"url":{}}}""", true)]
    [InlineData("2025-11-25", """{}""", true)]
    public async Task Without_elicitation_the_server_does_not_ask_and_refuses(string version, string capabilities, bool elicitApproval)
    {
        // Not asked when: the option is off, the version has no elicitation, the client offers URL mode only, or no elicitation at all.
        await using var host = McpTestHost.Start(configure: o => o with { ElicitApproval = elicitApproval || version != "2025-06-18" });
        await host.Client.InitializeAsync(version, JsonNode.Parse(capabilities)!.AsObject());

        var result = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, new JsonObject { ["instance_id"] = "i1" })).Result();

        Assert.Equal("Tool 'sd.delete-instance' is destructive: call again with approve=true after a human approved it.", result.ToolText());
        Assert.DoesNotContain(host.Client.Lines, l => l.Contains("elicitation/create", StringComparison.Ordinal));
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task The_server_does_not_ask_before_the_client_said_it_is_initialized()
    {
        await using var host = McpTestHost.Start();
        await host.Client.ResultAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = "2025-06-18",
            ["capabilities"] = Elicitation,
            ["clientInfo"] = new JsonObject { ["name"] = "eager", ["version"] = "1" },
        });

        var result = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, new JsonObject { ["instance_id"] = "i1" })).Result();

        Assert.True(result.IsError());
        Assert.DoesNotContain(host.Client.Lines, l => l.Contains("elicitation/create", StringComparison.Ordinal));
    }
}
