using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>The per-agent allow-list: what an agent sees, what it may call, and the log line of every denial.</summary>
public sealed class AllowListTests
{
    [Fact]
    public async Task An_agent_sees_only_the_tools_its_allow_list_grants()
    {
        await using var stats = await McpTestHost.StartInitializedAsync(McpTestHost.StatsAgent);
        await using var policy = await McpTestHost.StartInitializedAsync("lb-policy-agent");

        Assert.Equal([SampleTools.Top, SampleTools.Slow], (await stats.Client.ResultAsync("tools/list")).Names("tools"));
        Assert.Equal([SampleTools.Top, SampleTools.SetPolicy], (await policy.Client.ResultAsync("tools/list")).Names("tools"));
        Assert.Equal([SampleTools.Top, SampleTools.Slow], stats.Server.AllowedTools);
    }

    [Fact]
    public async Task Calling_a_tool_outside_the_allow_list_is_refused_logged_and_never_run()
    {
        await using var host = await McpTestHost.StartInitializedAsync(McpTestHost.StatsAgent);

        var error = (await host.Client.CallToolAsync(SampleTools.DeleteInstance, new JsonObject { ["instance_id"] = "i-secret-77", ["approve"] = true })).Error(-32602);

        Assert.Equal("Tool 'sd.delete-instance' is not allowed for agent 'lb-stats-agent'", error.Message());
        Assert.Equal("not_allowed", error.GetProperty("data").GetProperty("reason").GetString());
        Assert.Empty(host.Probe.Invoked);
        var denial = Assert.Single(host.LogEvents(11002));
        Assert.Equal("lb-stats-agent", denial.GetProperty("agent").GetString());
        Assert.Equal(SampleTools.DeleteInstance, denial.GetProperty("tool").GetString());
        Assert.Equal("not_allowed", denial.GetProperty("reason").GetString());
        Assert.Equal("warn", denial.GetProperty("level").GetString());
        Assert.True(DateTimeOffset.TryParse(denial.GetProperty("ts").GetString(), out _));
        Assert.DoesNotContain("i-secret-77", string.Join("\n", host.Logs.Lines));
    }

    [Fact]
    public async Task Every_denied_call_is_logged()
    {
        await using var host = await McpTestHost.StartInitializedAsync(McpTestHost.StatsAgent);

        await host.Client.CallToolAsync(SampleTools.ListServices);
        await host.Client.CallToolAsync(SampleTools.SetPolicy);
        await host.Client.CallToolAsync(SampleTools.ListServices);

        Assert.Equal([SampleTools.ListServices, SampleTools.SetPolicy, SampleTools.ListServices], host.LogEvents(11002).Select(e => e.GetProperty("tool").GetString()));
    }

    [Fact]
    public async Task An_agent_without_an_entry_sees_no_tools_and_the_server_warns_at_start()
    {
        await using var host = await McpTestHost.StartInitializedAsync("unknown-agent");

        Assert.Empty((await host.Client.ResultAsync("tools/list")).GetProperty("tools").EnumerateArray());
        (await host.Client.CallToolAsync(SampleTools.Top, new JsonObject { ["image"] = "img.a" })).Error(-32602);
        Assert.Equal("unknown-agent", Assert.Single(host.LogEvents(11010)).GetProperty("agent").GetString());
        Assert.Empty(host.Probe.Invoked);
    }

    [Theory]
    [InlineData("lb-stats.*", "lb-stats.top", true)]
    [InlineData("lb-stats.*", "lb-stats.", true)]
    [InlineData("lb-stats.*", "lb-statsx.top", false)]
    [InlineData("lb-stats.*", "sd.lb-stats.top", false)]
    [InlineData("*", "anything.at.all", true)]
    [InlineData("sd.list-services", "sd.list-services", true)]
    [InlineData("sd.list-services", "sd.list-services2", false)]
    [InlineData("sd.*-instance", "sd.delete-instance", true)]
    [InlineData("sd.*-instance", "sd.delete-instances", false)]
    [InlineData("lb-?tats.top", "lb-stats.top", true)]
    [InlineData("*.*.*", "a.b", false)]
    public void Patterns_match_tool_names_with_star_and_question_mark(string pattern, string tool, bool allowed)
    {
        var list = new McpAllowList(new Dictionary<string, IReadOnlyList<string>> { ["agent"] = [pattern] });

        Assert.Equal(allowed, list.IsAllowed("agent", tool));
        Assert.False(list.IsAllowed("other-agent", tool));
    }

    [Fact]
    public void A_pathological_pattern_is_matched_in_linear_time()
    {
        var list = new McpAllowList(new Dictionary<string, IReadOnlyList<string>> { ["agent"] = [string.Concat(Enumerable.Repeat("*a", 60)) + "b"] });

        Assert.False(list.IsAllowed("agent", new string('a', 128)));
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("""{"agent": "sd.*"}""")]
    [InlineData("""{"agent": [1]}""")]
    [InlineData("""{"agent": [""]}""")]
    [InlineData("""{"": ["sd.*"]}""")]
    [InlineData("""{"agent": ["a"], "agent": ["b"]}""")]
    [InlineData("{")]
    public void A_malformed_allow_list_is_a_format_error(string json)
    {
        Assert.Throws<FormatException>(() => McpAllowList.Parse(json));
    }
}
