using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>tools/list and tools/call: what a client sees of a tool, results, tool errors, argument checks, protocol errors.</summary>
public sealed class ToolsTests
{
    [Fact]
    public async Task Tools_are_listed_with_their_schema_title_and_behaviour_hints()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var tools = (await host.Client.ResultAsync("tools/list")).GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);

        Assert.Equal(
            [SampleTools.ListServices, SampleTools.Top, SampleTools.Slow, SampleTools.Fail, SampleTools.Crash, SampleTools.DeleteInstance, SampleTools.SetPolicy],
            tools.Keys);
        var list = tools[SampleTools.ListServices];
        Assert.Equal("List services", list.GetProperty("title").GetString());
        Assert.Equal("Lists the registered services, optionally one by name.", list.GetProperty("description").GetString());
        Assert.Equal("string", list.GetProperty("inputSchema").GetProperty("properties").GetProperty("name").GetProperty("type").GetString());
        var hints = list.GetProperty("annotations");
        Assert.True(hints.GetProperty("readOnlyHint").GetBoolean());
        Assert.True(hints.GetProperty("idempotentHint").GetBoolean());
        Assert.False(hints.GetProperty("openWorldHint").GetBoolean());
        // MCP's default for an absent destructiveHint is true: a harmless tool says false.
        Assert.False(hints.GetProperty("destructiveHint").GetBoolean());

        var delete = tools[SampleTools.DeleteInstance];
        Assert.True(delete.GetProperty("annotations").GetProperty("destructiveHint").GetBoolean());
        var approve = delete.GetProperty("inputSchema").GetProperty("properties").GetProperty("approve");
        Assert.Equal("boolean", approve.GetProperty("type").GetString());
        Assert.Contains("human approved", approve.GetProperty("description").GetString());
        // Not required: a call without it is refused with the explanation, not a schema error.
        Assert.Equal(["instance_id"], delete.GetProperty("inputSchema").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["round_robin", "least_conn", "weighted_rr"], tools[SampleTools.SetPolicy].GetProperty("inputSchema").GetProperty("properties").GetProperty("algorithm").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));

        // A tool without a schema takes no arguments.
        Assert.Equal("""{"type":"object"}""", tools[SampleTools.Fail].GetProperty("inputSchema").GetRawText());
    }

    [Fact]
    public async Task Older_clients_get_only_the_fields_their_version_defines()
    {
        await using var host2024 = await McpTestHost.StartInitializedAsync(version: "2024-11-05");
        var tools2024 = (await host2024.Client.ResultAsync("tools/list")).GetProperty("tools").EnumerateArray().ToList();
        Assert.All(tools2024, t => Assert.False(t.TryGetProperty("annotations", out _)));
        Assert.All(tools2024, t => Assert.False(t.TryGetProperty("title", out _)));

        await using var host2025 = await McpTestHost.StartInitializedAsync(version: "2025-03-26");
        var tools2025 = (await host2025.Client.ResultAsync("tools/list")).GetProperty("tools").EnumerateArray().ToList();
        Assert.All(tools2025, t => Assert.True(t.TryGetProperty("annotations", out _)));
        Assert.All(tools2025, t => Assert.False(t.TryGetProperty("title", out _)));
    }

    [Fact]
    public async Task A_long_list_is_paged_with_an_opaque_cursor()
    {
        await using var host = await McpTestHost.StartInitializedAsync(configure: o => o with { PageSize = 3 });

        var names = new List<string>();
        var pages = 0;
        JsonObject? parameters = null;
        while (true)
        {
            var page = await host.Client.ResultAsync("tools/list", parameters);
            pages++;
            names.AddRange(page.Names("tools"));
            if (!page.TryGetProperty("nextCursor", out var cursor))
            {
                break;
            }
            parameters = new JsonObject { ["cursor"] = cursor.GetString() };
        }

        Assert.Equal(3, pages);
        Assert.Equal(7, names.Distinct().Count());
        var error = (await host.Client.RequestAsync("tools/list", new JsonObject { ["cursor"] = "not-a-cursor" })).Error(-32602);
        Assert.Contains("cursor", error.Message());
    }

    [Fact]
    public async Task A_JSON_result_is_structured_content_and_its_text()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var result = (await host.Client.CallToolAsync(SampleTools.ListServices, new JsonObject { ["name"] = "video-svc" })).Result();

        Assert.False(result.IsError());
        Assert.Equal("video-svc", result.GetProperty("structuredContent").GetProperty("services")[0].GetProperty("name").GetString());
        Assert.Equal("""{"services":[{"name":"video-svc","instances":2}]}""", result.ToolText());
        var call = Assert.Single(host.Probe.Calls);
        Assert.Equal("video-svc", call.GetString("name"));
        Assert.Equal(McpTestHost.OpsAgent, call.Agent);
        Assert.Equal(McpApproval.None, call.Approval);
        Assert.Equal("mcp-test-client", call.Client.Name);
    }

    [Fact]
    public async Task Before_2025_06_18_a_JSON_result_is_sent_as_text_only()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-03-26");

        var result = (await host.Client.CallToolAsync(SampleTools.ListServices)).Result();

        Assert.False(result.TryGetProperty("structuredContent", out _));
        Assert.Contains("video-svc", result.ToolText());
    }

    [Fact]
    public async Task A_tool_error_is_a_result_with_isError_and_its_message()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var result = (await host.Client.CallToolAsync(SampleTools.Fail)).Result();

        Assert.True(result.IsError());
        Assert.Equal("instance i9 is not registered", result.ToolText());
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_generic_tool_error_and_is_logged_not_sent()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var result = (await host.Client.CallToolAsync(SampleTools.Crash)).Result();

        Assert.True(result.IsError());
        Assert.Contains("internal error", result.ToolText());
        Assert.DoesNotContain("secret-42", string.Join("\n", host.Client.Lines));
        var logged = Assert.Single(host.LogEvents(11004));
        Assert.Equal(SampleTools.Crash, logged.GetProperty("tool").GetString());
        Assert.Contains("InvalidOperationException", logged.GetProperty("exception").GetString());
    }

    [Theory]
    [InlineData("""{}""", "missing required argument 'image'")]
    [InlineData("""{"image":7}""", "argument 'image' must be a string, not an integer")]
    [InlineData("""{"image":"img.a","n":"five"}""", "argument 'n' must be an integer, not a string")]
    [InlineData("""{"image":"img.a","n":2.5}""", "argument 'n' must be an integer, not a number")]
    [InlineData("""{"image":"img.a","format":"xml"}""", "argument 'format' must be one of \"table\", \"csv\", \"markdown\"")]
    [InlineData("""{"image":"img.a","window":5}""", "argument 'window' must be one of string, null, not an integer")]
    [InlineData("""{"image":"img.a","verbose":true}""", "unknown argument 'verbose' (this tool takes: format, image, n, window)")]
    public async Task Arguments_that_break_the_schema_are_invalid_params_and_the_handler_does_not_run(string arguments, string problem)
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var error = (await host.Client.CallToolAsync(SampleTools.Top, JsonNode.Parse(arguments)!.AsObject())).Error(-32602);

        Assert.Equal($"Invalid arguments for tool 'lb-stats.top': {problem}.", error.Message());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task Every_problem_is_named_at_once()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var error = (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["n"] = true, ["format"] = "xml" })).Error(-32602);

        Assert.Contains("missing required argument 'image'", error.Message());
        Assert.Contains("argument 'n' must be an integer, not a boolean", error.Message());
        Assert.Contains("argument 'format' must be one of", error.Message());
    }

    [Theory]
    [InlineData("""{"image":"img.a","n":3}""")]
    [InlineData("""{"image":"img.a","n":3.0}""")]
    [InlineData("""{"image":"img.a","n":1e2,"format":"csv","window":null}""")]
    public async Task Valid_arguments_reach_the_handler(string arguments)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var result = (await host.Client.CallToolAsync(SampleTools.Top, JsonNode.Parse(arguments)!.AsObject())).Result();

        Assert.Equal("top of img.a", result.ToolText());
        Assert.Equal(SampleTools.Top, Assert.Single(host.Probe.Invoked));
    }

    [Fact]
    public async Task From_2025_11_25_invalid_arguments_are_a_tool_error_the_model_can_read()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-11-25");

        var result = (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = 7 })).Result();

        Assert.True(result.IsError());
        Assert.Equal("Invalid arguments for tool 'lb-stats.top': argument 'image' must be a string, not an integer.", result.ToolText());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task An_unknown_tool_is_invalid_params()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var error = (await host.Client.CallToolAsync("sd.no-such-tool")).Error(-32602);

        Assert.Equal("Unknown tool: sd.no-such-tool", error.Message());
    }

    [Theory]
    [InlineData("""{"arguments":{}}""", "'name' (a string) is required")]
    [InlineData("""{"name":5}""", "'name' (a string) is required")]
    [InlineData("""{"name":"sd.list-services","arguments":[1]}""", "'arguments' must be an object")]
    [InlineData("""{"name":"sd.list-services","arguments":"x"}""", "'arguments' must be an object")]
    public async Task A_malformed_call_is_invalid_params(string parameters, string problem)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var error = (await host.Client.RequestAsync("tools/call", JsonNode.Parse(parameters)!.AsObject())).Error(-32602);

        Assert.Contains(problem, error.Message());
        Assert.Empty(host.Probe.Invoked);
    }

    [Fact]
    public async Task Null_or_absent_arguments_are_an_empty_object()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.RequestAsync("tools/call", new JsonObject { ["name"] = SampleTools.ListServices, ["arguments"] = null });
        await host.Client.RequestAsync("tools/call", new JsonObject { ["name"] = SampleTools.ListServices });

        Assert.All(host.Probe.Calls, c => Assert.Equal(JsonValueKind.Object, c.Arguments.ValueKind));
        Assert.Equal(2, host.Probe.Calls.Count);
    }

    [Fact]
    public async Task Each_call_is_logged_with_its_outcome_and_never_its_arguments()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        await host.Client.CallToolAsync(SampleTools.ListServices, new JsonObject { ["name"] = "private-value-123" });
        await host.Client.CallToolAsync(SampleTools.Fail);

        var completed = host.LogEvents(11003);
        Assert.Contains(completed, e => e.GetProperty("tool").GetString() == SampleTools.ListServices && e.GetProperty("outcome").GetString() == "ok");
        Assert.Contains(completed, e => e.GetProperty("tool").GetString() == SampleTools.Fail && e.GetProperty("outcome").GetString() == "tool_error");
        Assert.DoesNotContain("private-value-123", string.Join("\n", host.Logs.Lines));
    }
}
