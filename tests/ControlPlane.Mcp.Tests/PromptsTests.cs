using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>prompts/list and prompts/get, on the reference's system prompts (section 7) as sample data.</summary>
public sealed class PromptsTests
{
    [Fact]
    public async Task The_prompts_are_listed_with_their_arguments()
    {
        await using var host = await McpTestHost.StartInitializedAsync(version: "2025-06-18");

        var prompts = (await host.Client.ResultAsync("prompts/list")).GetProperty("prompts").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);

        Assert.Equal(["sd-agent", "lb-policy-agent", "health-agent", "incident-runbook"], prompts.Keys);
        Assert.Contains("system", prompts["sd-agent"].GetProperty("description").GetString());
        var task = Assert.Single(prompts["sd-agent"].GetProperty("arguments").EnumerateArray());
        Assert.Equal("task", task.GetProperty("name").GetString());
        Assert.False(task.GetProperty("required").GetBoolean());
        var runbook = prompts["incident-runbook"];
        Assert.Equal("Incident runbook", runbook.GetProperty("title").GetString());
        Assert.Equal([true, false], runbook.GetProperty("arguments").EnumerateArray().Select(a => a.GetProperty("required").GetBoolean()));
    }

    [Fact]
    public async Task A_system_prompt_is_its_text_and_the_task_follows_as_the_user_message()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var alone = await host.Client.ResultAsync("prompts/get", new JsonObject { ["name"] = "lb-policy-agent" });
        var message = Assert.Single(alone.GetProperty("messages").EnumerateArray());
        Assert.Equal("user", message.GetProperty("role").GetString());
        Assert.Equal("text", message.GetProperty("content").GetProperty("type").GetString());
        Assert.Equal(SamplePrompts.LbPolicyAgent, message.GetProperty("content").GetProperty("text").GetString());
        Assert.Contains("∈ {round_robin, least_conn, weighted_rr}", host.Client.Lines[^1]);

        var withTask = await host.Client.ResultAsync("prompts/get", new JsonObject { ["name"] = "sd-agent", ["arguments"] = new JsonObject { ["task"] = "Deregister i1." } });
        var messages = withTask.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("content").GetProperty("text").GetString()).ToList();
        Assert.Equal([SamplePrompts.SdAgent, "Deregister i1."], messages);
    }

    [Fact]
    public async Task Arguments_fill_the_templates_once_without_rescanning_values()
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var result = await host.Client.ResultAsync("prompts/get", new JsonObject
        {
            ["name"] = "incident-runbook",
            ["arguments"] = new JsonObject { ["image"] = "img.video.svc", ["symptom"] = "5xx on {{image}}" },
        });

        var messages = result.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal("Incident on img.video.svc: 5xx on {{image}}. Check readiness, refresh discovery, then report. Keep {{unknown}} as is.", messages[0].GetProperty("content").GetProperty("text").GetString());
        Assert.Equal("assistant", messages[1].GetProperty("role").GetString());
        Assert.Equal("Checking readiness of img.video.svc first.", messages[1].GetProperty("content").GetProperty("text").GetString());
        Assert.Equal("Runs the incident-bot runbook for one image.", result.GetProperty("description").GetString());
    }

    [Theory]
    [InlineData("""{"name":"incident-runbook"}""", "missing required argument 'image' of prompt 'incident-runbook'")]
    [InlineData("""{"name":"incident-runbook","arguments":{"image":"a","severity":"high"}}""", "prompt 'incident-runbook' has no argument 'severity'")]
    [InlineData("""{"name":"incident-runbook","arguments":{"image":5}}""", "argument 'image' of prompt 'incident-runbook' must be a string")]
    [InlineData("""{"name":"incident-runbook","arguments":["a"]}""", "'arguments' must be an object of strings")]
    [InlineData("""{"name":"no-such-prompt"}""", "Unknown prompt: no-such-prompt")]
    [InlineData("""{}""", "'name' (a string) is required")]
    public async Task A_bad_prompt_request_is_invalid_params(string parameters, string problem)
    {
        await using var host = await McpTestHost.StartInitializedAsync();

        var error = (await host.Client.RequestAsync("prompts/get", JsonNode.Parse(parameters)!.AsObject())).Error(-32602);

        Assert.Contains(problem, error.Message());
    }

    [Fact]
    public async Task Without_prompts_the_capability_is_not_offered()
    {
        await using var host = McpTestHost.Start(configure: o => o with { Prompts = [] });

        var init = await host.Client.InitializeAsync();

        Assert.False(init.GetProperty("capabilities").TryGetProperty("prompts", out _));
        Assert.Empty((await host.Client.ResultAsync("prompts/list")).GetProperty("prompts").EnumerateArray());
    }
}
