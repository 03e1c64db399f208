using System.Text.Json;
using ControlPlane.Mcp;
using Microsoft.Extensions.Logging;

// Usage: ControlPlane.Mcp.TestHost <agent>. Serves MCP on stdin/stdout until stdin ends; logs JSON lines on stderr.
var agent = args.Length > 0 ? args[0] : "lb-stats-agent";

var tools = new List<McpTool>
{
    new()
    {
        Name = "lb-stats.echo",
        Description = "Returns its text, as text and as JSON.",
        InputSchema = JsonElement.Parse("""{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}"""),
        Annotations = new McpToolAnnotations { ReadOnly = true },
        Handler = (call, _) => ValueTask.FromResult(McpToolResult.FromJson(
            JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["echo"] = call.GetString("text")! }))),
    },
    new()
    {
        Name = "lb-stats.reset",
        Description = "Resets the statistics (destructive).",
        Destructive = true,
        Handler = (_, _) => ValueTask.FromResult(McpToolResult.FromText("statistics reset")),
    },
    new()
    {
        Name = "sd.delete-instance",
        Description = "Deletes an instance.",
        InputSchema = JsonElement.Parse("""{"type":"object","required":["instance_id"],"properties":{"instance_id":{"type":"string"}}}"""),
        Destructive = true,
        Handler = (call, _) => ValueTask.FromResult(McpToolResult.FromText("deleted " + call.GetString("instance_id"))),
    },
};

using var loggers = LoggerFactory.Create(b => b.AddMcpStderrJson().SetMinimumLevel(LogLevel.Information));
var server = new McpServer(new McpServerOptions
{
    Agent = agent,
    AllowList = McpAllowList.Parse("""{"lb-stats-agent": ["lb-stats.*"], "sd-agent": ["sd.*"]}"""),
    Tools = tools,
    Prompts = [McpPrompt.SystemPrompt("health-agent", "You are health-agent. Poll /readyz for SD and LB. If not-ready, open an incident with context and keep polling until recovery.")],
    ServerName = "controlplane-mcp-testhost",
}, loggers);

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
try
{
    await server.RunAsync(Console.OpenStandardInput(), Console.OpenStandardOutput(), stop.Token);
    return 0;
}
catch (OperationCanceledException)
{
    return 130;
}
