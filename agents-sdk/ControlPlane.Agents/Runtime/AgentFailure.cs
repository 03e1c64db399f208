using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Runtime;

/// <summary>An action stops with an error envelope: <see cref="Code"/> (<see cref="AgentErrorCodes"/>), <see cref="Detail"/>, and what it had found so far.</summary>
internal sealed class AgentFailure(string code, string detail, JsonNode? result = null) : Exception(detail)
{
    public string Code { get; } = code;

    public string Detail { get; } = detail;

    public JsonNode? Result { get; } = result;

    /// <summary>Trying again would fail the same way (a 4xx answer, a local path that cannot be written): not retried.</summary>
    public bool Deterministic { get; init; }
}
