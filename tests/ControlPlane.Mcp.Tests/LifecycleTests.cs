using System.Text.Json.Nodes;
using ControlPlane.Mcp.Tests.Infrastructure;

namespace ControlPlane.Mcp.Tests;

/// <summary>MCP lifecycle: initialize and version negotiation, the initialized notification, ping, shutdown when the input ends.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task A_session_initializes_serves_and_ends_when_the_client_closes_the_input()
    {
        await using var host = McpTestHost.Start();
        var client = host.Client;

        var init = await client.ResultAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = "2025-06-18",
            ["capabilities"] = new JsonObject(),
            ["clientInfo"] = new JsonObject { ["name"] = "scripted", ["version"] = "0.1" },
        });
        Assert.Equal("2025-06-18", init.GetProperty("protocolVersion").GetString());
        var capabilities = init.GetProperty("capabilities");
        Assert.False(capabilities.GetProperty("tools").GetProperty("listChanged").GetBoolean());
        Assert.False(capabilities.GetProperty("prompts").GetProperty("listChanged").GetBoolean());
        Assert.True(capabilities.TryGetProperty("logging", out _));
        Assert.False(capabilities.TryGetProperty("resources", out _));
        Assert.Equal("controlplane-mcp-test", init.GetProperty("serverInfo").GetProperty("name").GetString());
        Assert.Equal("9.9.9", init.GetProperty("serverInfo").GetProperty("version").GetString());
        Assert.Equal("Operate the control plane through these tools.", init.GetProperty("instructions").GetString());

        await client.NotifyAsync("notifications/initialized");
        Assert.Empty((await client.ResultAsync("ping")).EnumerateObject());
        Assert.NotEmpty((await client.ResultAsync("tools/list")).GetProperty("tools").EnumerateArray());

        // The notification was not answered, and closing the input ends RunAsync normally.
        Assert.Empty(await client.CloseAsync());
        Assert.True(client.ServerTask.IsCompletedSuccessfully);
        var initialized = Assert.Single(host.LogEvents(11001));
        Assert.Equal("scripted", initialized.GetProperty("client").GetString());
        Assert.Equal("2025-06-18", initialized.GetProperty("protocol_version").GetString());
        Assert.Equal(McpTestHost.OpsAgent, initialized.GetProperty("agent").GetString());
    }

    [Theory]
    [InlineData("2024-11-05", "2024-11-05")]
    [InlineData("2025-03-26", "2025-03-26")]
    [InlineData("2025-06-18", "2025-06-18")]
    [InlineData("2025-11-25", "2025-11-25")]
    [InlineData("2099-01-01", McpProtocolVersions.Latest)]
    [InlineData("1.0.0", McpProtocolVersions.Latest)]
    public async Task The_server_answers_the_clients_version_when_it_supports_it_else_its_latest(string requested, string answered)
    {
        await using var host = McpTestHost.Start();

        var init = await host.Client.InitializeAsync(requested);

        Assert.Equal(answered, init.GetProperty("protocolVersion").GetString());
    }

    [Fact]
    public async Task Initialize_without_a_protocol_version_is_invalid_params_naming_the_supported_versions()
    {
        await using var host = McpTestHost.Start();

        var error = (await host.Client.RequestAsync("initialize", new JsonObject { ["capabilities"] = new JsonObject() })).Error(-32602);

        Assert.Contains("protocolVersion", error.Message());
        Assert.Equal(McpProtocolVersions.Supported, error.GetProperty("data").GetProperty("supported").EnumerateArray().Select(v => v.GetString()));
        // Still not initialized: a proper initialize works after.
        await host.Client.InitializeAsync();
    }

    [Fact]
    public async Task Requests_before_initialize_are_refused_except_ping()
    {
        await using var host = McpTestHost.Start();

        var error = (await host.Client.RequestAsync("tools/list")).Error(-32600);
        Assert.Contains("initialize", error.Message());
        (await host.Client.RequestAsync("tools/call", new JsonObject { ["name"] = SampleTools.ListServices })).Error(-32600);
        Assert.Empty(host.Probe.Invoked);

        await host.Client.ResultAsync("ping");
        await host.Client.InitializeAsync();
        await host.Client.ResultAsync("tools/list");
    }

    [Fact]
    public async Task A_second_initialize_is_refused_and_the_session_keeps_its_version()
    {
        await using var host = McpTestHost.Start();
        await host.Client.InitializeAsync("2025-03-26");

        var error = (await host.Client.RequestAsync("initialize", new JsonObject { ["protocolVersion"] = "2025-11-25", ["capabilities"] = new JsonObject(), ["clientInfo"] = new JsonObject { ["name"] = "x", ["version"] = "1" } })).Error(-32600);

        Assert.Contains("already initialized", error.Message());
        // Still 2025-03-26: tools are listed without 2025-06-18's titles.
        var tools = await host.Client.ResultAsync("tools/list");
        Assert.DoesNotContain(tools.GetProperty("tools").EnumerateArray(), t => t.TryGetProperty("title", out _));
    }

    [Fact]
    public async Task A_call_still_running_when_the_input_ends_is_answered_before_the_server_returns()
    {
        await using var host = await McpTestHost.StartInitializedAsync();
        await host.Client.SendRequestAsync("slow-1", "tools/call", new JsonObject { ["name"] = SampleTools.Slow, ["arguments"] = new JsonObject { ["key"] = "a" } });
        var gate = host.Probe.GateFor("a");
        await gate.Started.Task.DefaultTimeout();

        var closing = host.Client.CloseAsync();
        Assert.False(host.Client.ServerTask.IsCompleted);
        gate.Release.SetResult();
        var rest = await closing;

        var response = Assert.Single(rest, m => m.TryGetProperty("id", out var id) && id.GetString() == "slow-1");
        Assert.Equal("released a", response.Result().ToolText());
    }

    [Fact]
    public async Task A_call_that_outlives_the_shutdown_timeout_is_cancelled_and_answered_with_an_error()
    {
        var time = new ManualTimeProvider();
        await using var host = McpTestHost.Start(configure: o => o with { ShutdownTimeout = TimeSpan.FromSeconds(5) }, time: time);
        await host.Client.InitializeAsync();
        await host.Client.SendRequestAsync("slow-1", "tools/call", new JsonObject { ["name"] = SampleTools.Slow, ["arguments"] = new JsonObject { ["key"] = "stuck" } });
        var gate = host.Probe.GateFor("stuck");
        await gate.Started.Task.DefaultTimeout();

        var closing = host.Client.CloseAsync();
        await Eventually.WaitAsync("the shutdown timer", () => time.ActiveTimers > 0);
        time.Advance(TimeSpan.FromSeconds(5));
        await gate.Cancelled.Task.DefaultTimeout();
        var rest = await closing;

        var response = Assert.Single(rest, m => m.TryGetProperty("id", out var id) && id.GetString() == "slow-1");
        Assert.Contains("stopped", response.Error(-32603).Message());
    }

    [Fact]
    public async Task Stopping_the_host_cancels_running_calls_and_RunAsync_ends_cancelled()
    {
        using var stop = new CancellationTokenSource();
        await using var host = McpTestHost.Start(serverToken: stop.Token);
        await host.Client.InitializeAsync();
        await host.Client.SendRequestAsync(1, "tools/call", new JsonObject { ["name"] = SampleTools.Slow, ["arguments"] = new JsonObject { ["key"] = "a" } });
        var gate = host.Probe.GateFor("a");
        await gate.Started.Task.DefaultTimeout();

        await stop.CancelAsync();

        await gate.Cancelled.Task.DefaultTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.Client.ServerTask.DefaultTimeout());
    }
}
