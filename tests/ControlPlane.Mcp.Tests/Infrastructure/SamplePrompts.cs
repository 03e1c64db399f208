namespace ControlPlane.Mcp.Tests.Infrastructure;

/// <summary>The reference's system prompts (platform-agents-spec section 7), as the host will pass them, and one prompt with a required argument.</summary>
internal static class SamplePrompts
{
    public const string SdAgent = """
        You are sd-agent. Operate only the Service Discovery API described below.
        Rules: idempotent, retry GET/PUT, no destructive calls without explicit approval.
        Emit JSON logs with fields: ts, agent, action, target, trace_id.
        """;

    public const string LbPolicyAgent = """
        You are lb-policy-agent. Manage per-image policies via LB API.
        Validate algorithm ∈ {round_robin, least_conn, weighted_rr}; verify weights are integers ≥1.
        If change increases any weight by >50%, request human approval.
        Use header X-Platform-Token.
        """;

    public const string HealthAgent = """
        You are health-agent. Poll /readyz for SD and LB. If not-ready, open an incident with context and keep polling until recovery.
        """;

    public static IReadOnlyList<McpPrompt> Create() =>
    [
        McpPrompt.SystemPrompt("sd-agent", SdAgent),
        McpPrompt.SystemPrompt("lb-policy-agent", LbPolicyAgent),
        McpPrompt.SystemPrompt("health-agent", HealthAgent),
        new McpPrompt
        {
            Name = "incident-runbook",
            Title = "Incident runbook",
            Description = "Runs the incident-bot runbook for one image.",
            Arguments = [new McpPromptArgument("image", "the affected image", Required: true), new McpPromptArgument("symptom", "what was observed")],
            Messages =
            [
                new McpPromptMessage(McpRole.User, "Incident on {{image}}: {{symptom}}. Check readiness, refresh discovery, then report. Keep {{unknown}} as is."),
                new McpPromptMessage(McpRole.Assistant, "Checking readiness of {{image}} first."),
            ],
        },
    ];
}
