using ControlPlane.Agents.Billing;
using ControlPlane.Agents.Chaos;
using ControlPlane.Agents.Health;
using ControlPlane.Agents.Incident;
using ControlPlane.Agents.Policy;
using ControlPlane.Agents.Sd;
using ControlPlane.Agents.Stats;
using ControlPlane.Agents.Traffic;

namespace ControlPlane.Agents;

/// <summary>
/// Every agent and every action they offer, for front ends that expose them generically: cpctl
/// (a command per action, flags from <see cref="AgentAction.InputSchema"/>) and the MCP server (a
/// tool per action: <see cref="AgentAction.ToolName"/>, <see cref="AgentAction.Description"/>,
/// <see cref="AgentAction.InputSchema"/>, annotations from <see cref="AgentAction.ReadOnly"/> and
/// <see cref="AgentAction.Destructive"/>; call <see cref="AgentAction.RunAsync"/>).
/// </summary>
public static class AgentActionCatalog
{
    private static readonly Lazy<IReadOnlyList<AgentAction>> Actions = new(() =>
    [
        .. SdAgent.Actions(),
        .. LbPolicyAgent.Actions(),
        .. LbStatsAgent.Actions(),
        .. BillingExportAgent.Actions(),
        .. HealthAgent.Actions(),
        .. TrafficGenAgent.Actions(),
        .. ChaosAgent.Actions(),
        .. IncidentBot.Actions(),
    ]);

    /// <summary>The agents, in the reference's order (§2).</summary>
    public static IReadOnlyList<AgentInfo> Agents => [.. All.Select(a => a.AgentInfo).Distinct()];

    /// <summary>Every action of every agent.</summary>
    public static IReadOnlyList<AgentAction> All => Actions.Value;

    /// <summary>The actions of <paramref name="agent"/> (its name, e.g. "lb-policy-agent", or cpctl command, e.g. "lb-policy").</summary>
    public static IReadOnlyList<AgentAction> For(string agent) =>
        [.. All.Where(a => a.Agent.Equals(agent, StringComparison.Ordinal) || a.AgentInfo.Command.Equals(agent, StringComparison.Ordinal))];

    /// <summary>An action by agent (name or command) and action (name or alias); null when there is none.</summary>
    public static AgentAction? Find(string agent, string action) =>
        For(agent).FirstOrDefault(a => a.Name.Equals(action, StringComparison.Ordinal) || a.Aliases.Contains(action, StringComparer.Ordinal));

    /// <summary>An action by <see cref="AgentAction.ToolName"/>; null when there is none.</summary>
    public static AgentAction? FindTool(string toolName) => All.FirstOrDefault(a => a.ToolName.Equals(toolName, StringComparison.Ordinal));
}
