using System.Text.Json;

namespace ControlPlane.Mcp.Tests.Infrastructure;

/// <summary>Tools shaped like the agents' actions, recording what their handlers saw.</summary>
internal static class SampleTools
{
    public const string ListServices = "sd.list-services";
    public const string Fail = "sd.fail";
    public const string Crash = "sd.crash";
    public const string DeleteInstance = "sd.delete-instance";
    public const string Top = "lb-stats.top";
    public const string Slow = "lb-stats.slow";
    public const string SetPolicy = "lb-policy.set";

    public static IReadOnlyList<McpTool> Create(ToolProbe probe) =>
    [
        new McpTool
        {
            Name = ListServices,
            Title = "List services",
            Description = "Lists the registered services, optionally one by name.",
            InputSchema = JsonElement.Parse("""{"type":"object","properties":{"name":{"type":"string","description":"a service name"}}}"""),
            Annotations = new McpToolAnnotations { ReadOnly = true, Idempotent = true, OpenWorld = false },
            Handler = (call, _) =>
            {
                probe.Record(call);
                return ValueTask.FromResult(McpToolResult.FromJson(JsonElement.Parse("""{"services":[{"name":"video-svc","instances":2}]}""")));
            },
        },
        new McpTool
        {
            Name = Top,
            Description = "The top N instances of an image by requests.",
            InputSchema = JsonElement.Parse("""
                {"type":"object","additionalProperties":false,"required":["image"],"properties":{
                  "image":{"type":"string"},
                  "n":{"type":"integer","description":"how many"},
                  "format":{"type":"string","enum":["table","csv","markdown"]},
                  "window":{"type":["string","null"]}}}
                """),
            Annotations = new McpToolAnnotations { ReadOnly = true },
            Handler = (call, _) =>
            {
                probe.Record(call);
                return ValueTask.FromResult(McpToolResult.FromText($"top of {call.GetString("image")}"));
            },
        },
        new McpTool
        {
            Name = Slow,
            Description = "Waits until the test releases it (or the call is cancelled); reports progress first.",
            InputSchema = JsonElement.Parse("""{"type":"object","required":["key"],"properties":{"key":{"type":"string"}}}"""),
            Handler = async (call, cancellationToken) =>
            {
                probe.Record(call);
                var gate = probe.GateFor(call.GetString("key")!);
                await call.ReportProgressAsync(1, 2, "waiting", cancellationToken);
                await call.LogAsync(McpLogLevel.Info, "slow call waiting", cancellationToken);
                await call.LogAsync(McpLogLevel.Warning, "slow call still waiting", cancellationToken);
                gate.Started.TrySetResult();
                try
                {
                    await gate.Release.Task.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    gate.Cancelled.TrySetResult();
                    throw;
                }
                return McpToolResult.FromText("released " + call.GetString("key"));
            },
        },
        new McpTool
        {
            Name = Fail,
            Description = "Always fails the way a tool reports a problem.",
            Handler = (call, _) =>
            {
                probe.Record(call);
                throw new McpToolException("instance i9 is not registered");
            },
        },
        new McpTool
        {
            Name = Crash,
            Description = "Always throws an unexpected exception.",
            Handler = (call, _) =>
            {
                probe.Record(call);
                throw new InvalidOperationException("internal detail: connection string secret-42");
            },
        },
        new McpTool
        {
            Name = DeleteInstance,
            Description = "Deletes an instance from the registry.",
            InputSchema = JsonElement.Parse("""{"type":"object","required":["instance_id"],"properties":{"instance_id":{"type":"string"}}}"""),
            Destructive = true,
            Handler = (call, _) =>
            {
                probe.Record(call);
                return ValueTask.FromResult(McpToolResult.FromText("deleted " + call.GetString("instance_id")));
            },
        },
        new McpTool
        {
            Name = SetPolicy,
            Description = "Sets the routing policy of an image.",
            InputSchema = JsonElement.Parse("""
                {"type":"object","required":["image","algorithm"],"properties":{
                  "image":{"type":"string"},"algorithm":{"type":"string","enum":["round_robin","least_conn","weighted_rr"]},
                  "token":{"type":"string","description":"never logged"}}}
                """),
            Destructive = true,
            Annotations = new McpToolAnnotations { Idempotent = true },
            Handler = (call, _) =>
            {
                probe.Record(call);
                return ValueTask.FromResult(McpToolResult.FromText("policy set"));
            },
        },
    ];
}
