using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents;
using ControlPlane.Mcp;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Cli;

/// <summary>
/// <c>cpctl mcp --agent NAME</c>: the catalogue's actions as Model Context Protocol tools over stdio,
/// for an LLM-driven agent. The session runs as one agent identity; the allow-list says which tools
/// it may see and call (by default its own actions). Approval is per call, never for the session:
/// destructive actions go through the server's gate (<c>approve: true</c>, or the client asks its
/// user), and actions whose need for approval depends on the change (a major policy change) take an
/// <c>approve</c> argument the action itself judges, as <c>--approve</c> on the command line.
/// stdout carries protocol messages only; logs go to stderr as JSON lines.
/// </summary>
internal static class McpCommand
{
    private const string Approve = "approve";

    public static Command Create(GlobalOptions global, CliEnvironment environment)
    {
        var agentNames = AgentActionCatalog.Agents.Select(a => a.Name).ToArray();
        var agent = new Option<string>("--agent") { Description = "The agent identity of the session: " + string.Join(", ", agentNames) + ".", Required = true };
        agent.AcceptOnlyFromAmong(agentNames);
        var allowList = new Option<string>("--allow-list")
        {
            Description = "Which tools each agent may use: a JSON object {\"agent\": [\"tool-pattern\", ...]} or @file (AGENT_MCP_ALLOW_LIST). Default: each agent its own actions.",
        };
        var command = new Command("mcp", "Serve the agents' actions as MCP tools over stdio (JSON-RPC 2.0), with the reference's system prompts as MCP prompts.");
        command.Options.Add(agent);
        command.Options.Add(allowList);
        command.SetAction(async (parse, ct) =>
        {
            AgentOptions options;
            McpAllowList allowed;
            AgentRuntime runtime;
            try
            {
                if (parse.GetValue(global.Approve))
                {
                    throw new UsageException("--approve does not apply to an MCP session: each call is approved on its own");
                }
                options = global.Resolve(parse, environment.GetVariable);
                allowed = AllowList(parse.GetValue(allowList) ?? environment.GetVariable("AGENT_MCP_ALLOW_LIST"));
                // Last: it reads the token file, and is disposed only once the session has run.
                runtime = new AgentRuntime(options, log: environment.Error);
            }
            catch (Exception ex) when (ex is UsageException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                await environment.Error.WriteLineAsync("cpctl mcp: " + ex.Message).ConfigureAwait(false);
                return ExitCodes.Usage;
            }
            await using (runtime.ConfigureAwait(false))
            {
                using var loggers = LoggerFactory.Create(b => b.AddMcpStderrJson().SetMinimumLevel(parse.GetValue(global.Quiet) ? LogLevel.Warning : LogLevel.Information));
                var server = new McpServer(
                    new McpServerOptions
                    {
                        Agent = parse.GetValue(agent)!,
                        AllowList = allowed,
                        Tools = [.. AgentActionCatalog.All.Select(a => Tool(a, runtime, parse.GetValue(global.DryRun)))],
                        Prompts = [.. AgentPrompts.All.Select(p => McpPrompt.SystemPrompt(p.Name, p.Text, p.Description))],
                        ServerName = "cpctl",
                        ServerVersion = typeof(McpCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
                        Instructions = "Tools operate a service-discovery and load-balancing control plane. Each returns the agents' envelope "
                            + "(agent, action, trace_id, when, request, result, status, error). Tools marked destructive need a human's approval.",
                    },
                    loggers);
                try
                {
                    await server.RunAsync(Console.OpenStandardInput(), Console.OpenStandardOutput(), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    // Ctrl-C: the session ends; the runtime below stops what it holds (heartbeats).
                }
                return ExitCodes.Ok;
            }
        });
        return command;
    }

    /// <summary>One catalogue action as a tool: its envelope as the structured result, an error envelope as a tool error.</summary>
    private static McpTool Tool(AgentAction action, AgentRuntime runtime, bool dryRun)
    {
        // The server's gate covers actions that always need approval; the others judge the change themselves.
        var gated = action.Destructive || action.Approval == ApprovalRule.Always;
        return new McpTool
        {
            Name = action.ToolName,
            Title = $"{action.Agent}: {action.Name}",
            Description = action.Description,
            InputSchema = action.Approval == ApprovalRule.Conditional && !gated ? WithApproveArgument(action.InputSchema) : action.InputSchema,
            Destructive = gated,
            Annotations = new McpToolAnnotations { ReadOnly = action.ReadOnly },
            Handler = async (call, ct) =>
            {
                var approved = call.Approval != McpApproval.None
                    || (call.TryGetArgument(Approve, out var approve) && approve.ValueKind == JsonValueKind.True);
                var envelope = await action.RunAsync(
                    WithoutApproveArgument(call.Arguments),
                    new AgentRunContext { Runtime = runtime, DryRun = dryRun, Approve = approved, Output = AgentOutput.Json },
                    ct).ConfigureAwait(false);
                var json = envelope.ToJson();
                using var document = JsonDocument.Parse(json);
                return new McpToolResult { Structured = document.RootElement.Clone(), Text = json, IsError = !envelope.Ok };
            },
        };
    }

    private static JsonElement WithApproveArgument(JsonElement schema)
    {
        var node = JsonNode.Parse(schema.GetRawText())!.AsObject();
        var properties = node["properties"] as JsonObject ?? [];
        properties[Approve] = new JsonObject
        {
            ["type"] = "boolean",
            ["description"] = "A human approved this change (needed for major changes: the call answers approval_required otherwise, and changes nothing).",
        };
        node["properties"] = properties;
        return JsonSerializer.SerializeToElement(node);
    }

    private static JsonElement WithoutApproveArgument(JsonElement arguments)
    {
        if (!arguments.TryGetProperty(Approve, out _))
        {
            return arguments;
        }
        var node = JsonNode.Parse(arguments.GetRawText())!.AsObject();
        node.Remove(Approve);
        return JsonSerializer.SerializeToElement(node);
    }

    private static McpAllowList AllowList(string? given)
    {
        if (string.IsNullOrWhiteSpace(given))
        {
            return new McpAllowList(AgentActionCatalog.Agents.ToDictionary(
                a => a.Name,
                a => (IReadOnlyList<string>)[.. AgentActionCatalog.For(a.Name).Select(x => x.ToolName)]));
        }
        var json = given.StartsWith('@') ? File.ReadAllText(given[1..]) : given;
        try
        {
            return McpAllowList.Parse(json);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException)
        {
            throw new UsageException("--allow-list: " + ex.Message);
        }
    }
}
