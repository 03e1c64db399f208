using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Cli;

/// <summary>
/// <c>cpctl mcp</c> as an LLM host runs it: its own process, JSON-RPC 2.0 over stdin/stdout, driven
/// by a scripted client against the running platform: the agent's tools only, the reference's
/// prompts, approval per call (never for the session), denials logged, the token nowhere.
/// </summary>
[Collection(PlatformCollection.Name)]
public sealed class McpServerTests(AgentPlatform platform)
{
    [Fact]
    public async Task AnLbPolicyAgentSession_SeesItsToolsAndPrompts_AndEveryChangeNeedsItsOwnApproval()
    {
        const string image = "img.mcp";
        await using var fleet = await platform.RegisterAsync(image, "mcp-", [platform.Backends[0], platform.Backends[1]]);
        await using var session = McpSession.Start(platform.CpctlEnvironment, "mcp", "--agent", "lb-policy-agent");

        var init = await session.RequestAsync("initialize", new JsonObject
        {
            ["protocolVersion"] = "2025-06-18",
            ["capabilities"] = new JsonObject(),
            ["clientInfo"] = new JsonObject { ["name"] = "scripted-test", ["version"] = "1" },
        });
        Assert.Equal("2025-06-18", init["protocolVersion"]!.GetValue<string>());
        Assert.Equal("cpctl", init["serverInfo"]!["name"]!.GetValue<string>());
        await session.NotifyAsync("notifications/initialized");

        var tools = (await session.RequestAsync("tools/list"))["tools"]!.AsArray().Select(t => t!["name"]!.GetValue<string>()).ToArray();
        Assert.Equal(
            ["lb_policy_agent__delete_policy", "lb_policy_agent__get_policy", "lb_policy_agent__list_policies", "lb_policy_agent__set_policy"],
            tools.Order(StringComparer.Ordinal));
        var prompts = (await session.RequestAsync("prompts/list"))["prompts"]!.AsArray().Select(p => p!["name"]!.GetValue<string>()).ToArray();
        Assert.Contains("lb-policy-agent-system", prompts);
        var prompt = await session.RequestAsync("prompts/get", new JsonObject { ["name"] = "lb-policy-agent-system" });
        Assert.Contains("You are lb-policy-agent", prompt["messages"]![0]!["content"]!["text"]!.GetValue<string>(), StringComparison.Ordinal);

        // A major change without approval: the action refuses and nothing changes.
        var set = new JsonObject { ["image"] = image, ["algorithm"] = "least_conn" };
        var refused = await session.CallAsync("lb_policy_agent__set_policy", set);
        Assert.True(refused["isError"]!.GetValue<bool>());
        Assert.Equal("approval_required", refused["structuredContent"]!["error"]!["code"]!.GetValue<string>());
        Assert.Null(await platform.PolicyAsync(image));

        var approved = await session.CallAsync("lb_policy_agent__set_policy", new JsonObject { ["image"] = image, ["algorithm"] = "least_conn", ["approve"] = true });
        Assert.False(approved["isError"]?.GetValue<bool>() ?? false, approved.ToJsonString());
        Assert.Equal("ok", approved["structuredContent"]!["status"]!.GetValue<string>());
        Assert.Equal("least_conn", (await platform.PolicyAsync(image))!.Value.GetProperty("algorithm").GetString());

        // Delete is destructive: the server's gate refuses it without approve=true and never runs it.
        var gated = await session.CallAsync("lb_policy_agent__delete_policy", new JsonObject { ["image"] = image });
        Assert.True(gated["isError"]!.GetValue<bool>());
        Assert.Contains("destructive", gated["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(await platform.PolicyAsync(image));
        var deleted = await session.CallAsync("lb_policy_agent__delete_policy", new JsonObject { ["image"] = image, ["approve"] = true });
        Assert.False(deleted["isError"]?.GetValue<bool>() ?? false, deleted.ToJsonString());
        Assert.Null(await platform.PolicyAsync(image));

        // Another agent's tool: not listed, and refused.
        var denied = await session.RequestRawAsync("tools/call", new JsonObject { ["name"] = "chaos_agent__delete_instance", ["arguments"] = new JsonObject { ["instance_id"] = "mcp-0" } });
        Assert.Equal(-32602, denied["error"]!["code"]!.GetValue<int>());
        Assert.NotNull(await platform.InstanceAsync(fleet.Ids[0]));

        var (exitCode, stderr) = await session.EndAsync();
        Assert.Equal(0, exitCode);
        Assert.Contains("chaos_agent__delete_instance", stderr, StringComparison.Ordinal); // the denial, logged
        Assert.DoesNotContain(AgentPlatform.Token, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(AgentPlatform.Token, session.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApprovalIsNeverForTheWholeSession()
    {
        var result = await Cpctl.RunAsync(platform.CpctlEnvironment, "mcp", "--agent", "lb-policy-agent", "--approve");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("each call is approved on its own", result.Stderr, StringComparison.Ordinal);
    }

    /// <summary>A scripted JSON-RPC client over a cpctl process's stdio: one message per line.</summary>
    private sealed class McpSession : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stderr;
        private readonly List<string> _stdout = [];
        private int _nextId;

        private McpSession(Process process)
        {
            _process = process;
            _stderr = process.StandardError.ReadToEndAsync();
        }

        public string Stdout => string.Join('\n', _stdout);

        public static McpSession Start(IReadOnlyDictionary<string, string> environment, params string[] args) =>
            new(Cpctl.Start(environment, keepInput: true, args));

        public async Task<JsonNode> RequestAsync(string method, JsonObject? parameters = null)
        {
            var answer = await RequestRawAsync(method, parameters);
            Assert.True(answer["error"] is null, $"{method}: {answer.ToJsonString()}");
            return answer["result"]!;
        }

        public async Task<JsonNode> CallAsync(string tool, JsonObject arguments) =>
            await RequestAsync("tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments });

        public async Task<JsonNode> RequestRawAsync(string method, JsonObject? parameters = null)
        {
            var id = ++_nextId;
            var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id, ["method"] = method };
            if (parameters is not null)
            {
                request["params"] = parameters;
            }
            await SendAsync(request);
            while (true)
            {
                var line = await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60))
                    ?? throw new InvalidOperationException($"cpctl mcp ended before answering {method}: {await _stderr.DefaultTimeout()}");
                _stdout.Add(line);
                var message = JsonNode.Parse(line)!;
                if (message["id"] is { } answered && answered.GetValueKind() == JsonValueKind.Number && answered.GetValue<int>() == id)
                {
                    return message;
                }
            }
        }

        public Task NotifyAsync(string method) => SendAsync(new JsonObject { ["jsonrpc"] = "2.0", ["method"] = method });

        /// <summary>Closes stdin (the end of the session) and waits for the process.</summary>
        public async Task<(int ExitCode, string Stderr)> EndAsync()
        {
            _process.StandardInput.Close();
            _stdout.AddRange((await _process.StandardOutput.ReadToEndAsync().DefaultTimeout()).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            await Cpctl.WaitForExitAsync(_process);
            return (_process.ExitCode, await _stderr.DefaultTimeout());
        }

        private async Task SendAsync(JsonObject message)
        {
            await _process.StandardInput.WriteLineAsync(message.ToJsonString()).DefaultTimeout();
            await _process.StandardInput.FlushAsync().DefaultTimeout();
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().DefaultTimeout();
            }
            _process.Dispose();
        }
    }
}
