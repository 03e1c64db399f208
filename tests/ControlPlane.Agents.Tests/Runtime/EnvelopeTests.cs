using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Tests.Infrastructure;

namespace ControlPlane.Agents.Tests.Runtime;

public sealed class EnvelopeTests
{
    [Fact]
    public void TheEnvelope_HasTheReferenceMembersInOrder_AndParsesBack()
    {
        var envelope = new AgentEnvelope
        {
            Agent = "lb-policy-agent",
            Action = "set-policy",
            TraceId = "t-1",
            When = new DateTimeOffset(2025, 8, 17, 10, 15, 30, TimeSpan.Zero),
            Request = new JsonObject { ["image"] = "img.video.svc" },
            Result = new JsonObject { ["ok"] = false },
            Error = new AgentError("approval_required", "it's a big change"),
        };
        using var json = JsonDocument.Parse(envelope.ToJson());
        Assert.Equal(["agent", "action", "trace_id", "when", "request", "result", "status", "error"], json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("error", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("2025-08-17T10:15:30.000Z", json.RootElement.GetProperty("when").GetString());
        Assert.Contains("it's a big change", envelope.ToJson(), StringComparison.Ordinal);

        var back = AgentEnvelope.Parse(envelope.ToJson(indented: true));
        Assert.Equal(("lb-policy-agent", "set-policy", "t-1", "approval_required"), (back.Agent, back.Action, back.TraceId, back.Error!.Code));
        Assert.Equal("img.video.svc", (string?)back.Request!["image"]);
    }

    [Fact]
    public async Task BadInput_IsAnInvalidRequestEnvelope_NamingTheProblem_AndSendsNothing()
    {
        var log = new LogCapture();
        await using var runtime = Runtimes.Offline(log);
        var set = AgentActionCatalog.Find("lb-policy", "set")!;
        async Task<AgentEnvelope> Run(string input) =>
            await set.RunAsync(JsonDocument.Parse(input).RootElement, new AgentRunContext { Runtime = runtime }).DefaultTimeout();

        var unknown = await Run("""{"image":"img.a","algorithm":"round_robin","wieghts":{}}""");
        Assert.Equal(AgentErrorCodes.InvalidRequest, unknown.Error!.Code);
        Assert.Contains("wieghts", unknown.Error.Detail, StringComparison.Ordinal);

        var algorithm = await Run("""{"image":"img.a","algorithm":"fastest"}""");
        Assert.Contains("'fastest' is not one of round_robin, least_conn, weighted_rr, consistent_hash", algorithm.Error!.Detail, StringComparison.Ordinal);

        var type = await Run("""{"image":"img.a","algorithm":"weighted_rr","weights":{"i1":"two"}}""");
        Assert.Equal(AgentErrorCodes.InvalidRequest, type.Error!.Code);
        Assert.Contains("$.weights.i1", type.Error.Detail, StringComparison.Ordinal);

        var missing = await Run("""{"algorithm":"round_robin"}""");
        Assert.Contains("image", missing.Error!.Detail, StringComparison.Ordinal);

        // Semantics the contract adds: weights only for weighted_rr, whole numbers >= 1.
        var zero = await Run("""{"image":"img.a","algorithm":"weighted_rr","weights":{"i1":0}}""");
        Assert.Equal(AgentErrorCodes.PolicyInvalid, zero.Error!.Code);
        Assert.Contains("weights.i1: 0", zero.Error.Detail, StringComparison.Ordinal);
        var misplaced = await Run("""{"image":"img.a","algorithm":"least_conn","weights":{"i1":2}}""");
        Assert.Equal(AgentErrorCodes.PolicyInvalid, misplaced.Error!.Code);

        // Every one of them failed before any request: nothing was even attempted.
        Assert.DoesNotContain("\"msg\":\"call\"", log.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryAction_HasASchemaWithDescriptions_AndAToolName()
    {
        Assert.Equal(["sd-agent", "lb-policy-agent", "lb-stats-agent", "billing-export-agent", "health-agent", "trafficgen-agent", "chaos-agent", "incident-bot"],
            AgentActionCatalog.Agents.Select(a => a.Name));
        foreach (var action in AgentActionCatalog.All)
        {
            var schema = action.InputSchema;
            Assert.Equal("object", schema.GetProperty("type").GetString());
            Assert.False(schema.GetProperty("additionalProperties").GetBoolean());
            foreach (var property in schema.TryGetProperty("properties", out var p) ? p.EnumerateObject() : Enumerable.Empty<JsonProperty>())
            {
                Assert.True(property.Value.TryGetProperty("description", out _), $"{action.ToolName}.{property.Name} has no description");
            }
            Assert.Matches("^[a-z0-9_]+$", action.ToolName);
            Assert.Same(action, AgentActionCatalog.FindTool(action.ToolName));
        }
        var set = AgentActionCatalog.Find("lb-policy-agent", "set-policy")!;
        Assert.Equal(ApprovalRule.Conditional, set.Approval);
        Assert.Equal(["image", "algorithm"], set.InputSchema.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(4, set.InputSchema.GetProperty("properties").GetProperty("algorithm").GetProperty("enum").GetArrayLength());
        Assert.True(AgentActionCatalog.Find("chaos", "expire-instance")!.Destructive);
        Assert.Equal(ApprovalRule.Always, AgentActionCatalog.Find("lb-policy", "delete")!.Approval);
        Assert.All(AgentActionCatalog.Agents, a => Assert.NotNull(AgentPrompts.For(a.Name)));
        Assert.Contains("If change increases any weight by >50%, request human approval.", AgentPrompts.For("lb-policy-agent")!.Text, StringComparison.Ordinal);
    }
}
