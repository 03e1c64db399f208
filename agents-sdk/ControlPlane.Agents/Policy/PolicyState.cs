using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Api.V1;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Agents.Policy;

/// <summary>
/// A policy as it routes: an image without a stored policy is routed round_robin. Weights matter only
/// for weighted_rr, where an instance the policy does not name keeps its registered weight (metadata
/// "weight"), else 1; under every other algorithm each instance has the same share (weight 1).
/// </summary>
internal sealed record PolicyState(string Algorithm, IReadOnlyDictionary<string, int> Weights, string? StickyKey, bool Stored)
{
    public static readonly PolicyState None = new(LoadBalancingAlgorithms.RoundRobin, new Dictionary<string, int>(), null, false);

    public static PolicyState From(RoutingPolicy? policy) => policy is null
        ? None
        : new(policy.Algorithm, policy.Weights.ToDictionary(w => w.Key, w => w.Value, StringComparer.Ordinal), policy.StickyKey.Length == 0 ? null : policy.StickyKey, true);

    public int EffectiveWeight(string instanceId, IReadOnlyDictionary<string, int> registered) =>
        Algorithm != LoadBalancingAlgorithms.WeightedRoundRobin ? 1
        : Weights.TryGetValue(instanceId, out var w) ? w
        : registered.GetValueOrDefault(instanceId, 1);

    /// <summary>The reference's "fundamentally different classes" (§5.2): rotations, load-aware, affinity.</summary>
    public static string ClassOf(string algorithm) => algorithm switch
    {
        LoadBalancingAlgorithms.RoundRobin or LoadBalancingAlgorithms.WeightedRoundRobin => "rotation",
        LoadBalancingAlgorithms.LeastConn => "load-aware",
        LoadBalancingAlgorithms.ConsistentHash => "affinity",
        _ => algorithm,
    };

    public bool SameAs(PolicyState other) =>
        Algorithm == other.Algorithm && StickyKey == other.StickyKey && Weights.Count == other.Weights.Count &&
        Weights.All(w => other.Weights.TryGetValue(w.Key, out var v) && v == w.Value);

    public JsonObject ToJson()
    {
        var weights = new JsonObject();
        foreach (var (id, weight) in Weights.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            weights[id] = weight;
        }
        return new JsonObject { ["algorithm"] = Algorithm, ["weights"] = weights, ["sticky_key"] = StickyKey, ["stored"] = Stored };
    }
}

/// <summary>What a change does, line by line, and which parts of it need a human (§5.2 HITL).</summary>
internal sealed record PolicyDiff(IReadOnlyList<string> Lines, IReadOnlyList<string> ApprovalReasons)
{
    /// <summary>More than this relative change of an instance's weight needs approval.</summary>
    public const double MaxWeightChange = 0.5;

    public bool Empty => Lines.Count == 0;

    public static PolicyDiff Compute(PolicyState before, PolicyState after, IReadOnlyDictionary<string, int> registeredWeights)
    {
        var lines = new List<string>();
        var reasons = new List<string>();
        if (before.Algorithm != after.Algorithm || before.Stored != after.Stored)
        {
            lines.Add($"algorithm: {Describe(before)} -> {Describe(after)}");
            var (from, to) = (PolicyState.ClassOf(before.Algorithm), PolicyState.ClassOf(after.Algorithm));
            if (from != to)
            {
                reasons.Add($"the algorithm changes class: {before.Algorithm} ({from}) -> {after.Algorithm} ({to})");
            }
        }
        var ids = before.Weights.Keys.Concat(after.Weights.Keys).Concat(registeredWeights.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var (w0, w1) = (before.EffectiveWeight(id, registeredWeights), after.EffectiveWeight(id, registeredWeights));
            if (w0 == w1)
            {
                continue;
            }
            var change = (w1 - w0) / (double)w0;
            lines.Add($"weight {id}: {w0} -> {w1} ({Percent(change)})");
            if (Math.Abs(change) > MaxWeightChange)
            {
                reasons.Add($"the weight of {id} changes by more than 50%: {w0} -> {w1} ({Percent(change)})");
            }
        }
        if (before.StickyKey != after.StickyKey)
        {
            lines.Add($"sticky_key: {before.StickyKey ?? "(none)"} -> {after.StickyKey ?? "(none)"}");
        }
        return new PolicyDiff(lines, reasons);
    }

    public JsonObject ToJson() => new()
    {
        ["lines"] = new JsonArray([.. Lines.Select(l => JsonValue.Create(l))]),
        ["needs_approval_because"] = new JsonArray([.. ApprovalReasons.Select(l => JsonValue.Create(l))]),
    };

    private static string Percent(double change) => (change * 100).ToString("+0;-0", CultureInfo.InvariantCulture) + "%";

    private static string Describe(PolicyState state) => state.Stored ? state.Algorithm : $"{state.Algorithm} (no stored policy)";
}
