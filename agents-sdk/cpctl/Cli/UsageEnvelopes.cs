using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>The error envelope of a command that failed before its action ran (a bad flag, unusable configuration), for --output json.</summary>
internal static class UsageEnvelopes
{
    public static AgentEnvelope Create(AgentAction? action, string code, string detail, string? traceId) => new()
    {
        Agent = action?.Agent ?? "cpctl",
        Action = action?.Name ?? "",
        TraceId = traceId is { } id && id.Length is > 0 and <= 128 && id.All(c => c is > ' ' and < (char)127) ? id : Guid.NewGuid().ToString("N"),
        When = DateTimeOffset.UtcNow,
        Error = new AgentError(code, detail),
    };
}
