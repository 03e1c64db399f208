using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Api.V1;
using ControlPlane.LoadBalancing;
using ControlPlane.Sdk;

namespace ControlPlane.Agents.Policy;

/// <summary>
/// lb-policy-agent (platform-agents-spec §5.2): reads, sets and deletes per-image routing policies.
/// A set is validated (locally, then by the control plane with validate_only), compared with the
/// policy in force, refused without approval when the algorithm changes class or a weight changes
/// by more than 50%, written with the platform token, and confirmed by reading it back; the diff is
/// printed and announced on the user channel. A delete always needs approval.
/// </summary>
internal static class LbPolicyAgent
{
    public static readonly AgentInfo Info = new("lb-policy-agent", "lb-policy", "Create/update/delete per-image routing policies, with human approval for major changes.");

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<ImageInput>(Info, "get-policy", "Reads an image's routing policy (an image without one is routed round_robin).",
            GetAsync, readOnly: true, target: i => i.Image, aliases: ["get"], positionals: ["image"]),
        AgentAction.Create<NoInput>(Info, "list-policies", "Lists every stored routing policy.",
            ListAsync, readOnly: true, aliases: ["list"]),
        AgentAction.Create<SetPolicyInput>(Info, "set-policy",
            "Sets an image's routing policy: validates it (algorithm, integer weights >= 1, a live instance), shows the diff, needs approval when the algorithm changes class or any weight changes by more than 50%, writes it with the platform token and confirms it by reading it back.",
            SetAsync, ApprovalRule.Conditional, target: i => i.Image, aliases: ["set"], positionals: ["image"]),
        AgentAction.Create<ImageInput>(Info, "delete-policy", "Deletes an image's routing policy (it falls back to round_robin). Always needs approval.",
            DeleteAsync, ApprovalRule.Always, destructive: true, target: i => i.Image, aliases: ["delete"], positionals: ["image"]),
    ];

    private static async Task<AgentEnvelope> GetAsync(ImageInput input, ActionScope scope, CancellationToken ct)
    {
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image })]);
        }
        var policy = await ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        var state = PolicyState.From(policy);
        var result = new JsonObject { ["image"] = input.Image, ["policy"] = ProtoJson.Policy(policy), ["effective_algorithm"] = state.Algorithm };
        var text = policy is null
            ? $"{input.Image}: no stored policy (routed {LoadBalancingAlgorithms.RoundRobin}){Environment.NewLine}"
            : Describe(policy);
        return scope.Ok(result, text);
    }

    private static async Task<AgentEnvelope> ListAsync(NoInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new ListPoliciesRequest();
        if (scope.DryRun)
        {
            return scope.Planned([scope.Plan(Rpcs.Policy("ListPolicies"), request)]);
        }
        var rows = new List<JsonObject>();
        do
        {
            var page = await scope.CallAsync(Rpcs.Policy("ListPolicies"), null, (c, t) => c.Policies.ListPoliciesAsync(request, t), ct).ConfigureAwait(false);
            rows.AddRange(page.Policies.Select(p => ProtoJson.Policy(p)!));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);
        return scope.Ok(new JsonObject { ["policies"] = new JsonArray([.. rows]) }, TextTable.Render(["image", "algorithm", "weights", "sticky_key", "updated_by", "updated_at"], rows));
    }

    private static async Task<AgentEnvelope> SetAsync(SetPolicyInput input, ActionScope scope, CancellationToken ct)
    {
        var desired = Validate(input);
        var request = new SetPolicyRequest { Image = input.Image, Algorithm = input.Algorithm, StickyKey = input.StickyKey ?? "", Reason = input.Reason ?? "" };
        request.Weights.Add(desired.Weights.ToDictionary());
        if (scope.DryRun)
        {
            var validation = request.Clone();
            validation.ValidateOnly = true;
            return scope.Planned([
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "the policy in force, for the diff and the approval rules"),
                scope.Plan(Rpcs.Registry("ListServices"), RegistryReads.ImageQuery(input.Image), "a live instance; registered weights"),
                scope.Plan(Rpcs.Policy("SetPolicy"), validation, "the control plane's validation, stores nothing"),
                scope.Plan(Rpcs.Policy("SetPolicy"), request),
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "confirm by reading back"),
            ]);
        }

        var previous = await ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        var before = PolicyState.From(previous);
        var instances = await RegistryReads.InstancesAsync(scope, input.Image, ct).ConfigureAwait(false);
        var live = instances.Where(RegistryReads.IsLive).Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);
        if (input.RequireLiveInstance && live.Count == 0)
        {
            throw new AgentFailure(AgentErrorCodes.NotFound, $"{input.Image} has no live instance (require_live_instance); nothing was changed");
        }
        var unknown = desired.Weights.Keys.Where(id => !live.Contains(id)).Order(StringComparer.Ordinal).ToList();
        var diff = PolicyDiff.Compute(before, desired, RegistryReads.RegisteredWeights(instances));
        var result = new JsonObject
        {
            ["image"] = input.Image,
            ["before"] = before.ToJson(),
            ["after"] = desired.ToJson(),
            ["diff"] = diff.ToJson(),
            ["weights_for_unknown_instances"] = new JsonArray([.. unknown.Select(id => JsonValue.Create(id))]),
        };

        // The control plane's own rules (limits, ids) before a human is asked to approve anything.
        var check = request.Clone();
        check.ValidateOnly = true;
        await WriteAsync(scope, check, ct).ConfigureAwait(false);

        if (diff.Empty && before.Stored)
        {
            result["ok"] = true;
            result["changed"] = false;
            result["policy"] = ProtoJson.Policy(previous);
            return scope.Ok(result, $"{input.Image}: the policy is already {Summary(desired)}; nothing to change{Environment.NewLine}");
        }
        scope.RequireApproval(diff.ApprovalReasons.Count > 0, $"changing the policy of {input.Image} ({string.Join("; ", diff.ApprovalReasons)})", result);

        var response = await WriteAsync(scope, request, ct).ConfigureAwait(false);
        var confirmed = await ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        if (confirmed is null || !PolicyState.From(confirmed).SameAs(desired))
        {
            result["read_back"] = ProtoJson.Policy(confirmed);
            throw new AgentFailure(AgentErrorCodes.ConfirmFailed,
                $"{input.Image}: the policy read back ({(confirmed is null ? "none" : Summary(PolicyState.From(confirmed)))}) is not the one set ({Summary(desired)}): another change raced this one", result);
        }
        result["ok"] = response.Ok;
        result["changed"] = true;
        result["approved"] = diff.ApprovalReasons.Count > 0;
        result["policy"] = ProtoJson.Policy(confirmed);
        var text = DiffText(input.Image, diff, unknown);
        await scope.PostToChannelAsync("announcement", $"lb-policy-agent changed the policy of {input.Image}: {string.Join("; ", diff.Lines)}",
            new JsonObject { ["image"] = input.Image, ["diff"] = diff.ToJson(), ["policy"] = ProtoJson.Policy(confirmed) }, ct).ConfigureAwait(false);
        return scope.Ok(result, text);
    }

    private static async Task<AgentEnvelope> DeleteAsync(ImageInput input, ActionScope scope, CancellationToken ct)
    {
        var request = new DeletePolicyRequest { Image = input.Image, Reason = input.Reason ?? "" };
        if (scope.DryRun)
        {
            return scope.Planned([
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "the policy to delete, for the diff"),
                scope.Plan(Rpcs.Policy("DeletePolicy"), request),
                scope.Plan(Rpcs.Policy("GetPolicy"), new GetPolicyRequest { Image = input.Image }, "confirm: not_found"),
            ]);
        }
        var previous = await ReadAsync(scope, input.Image, ct).ConfigureAwait(false)
            ?? throw new AgentFailure(AgentErrorCodes.NotFound, $"{input.Image} has no stored policy (it is routed {LoadBalancingAlgorithms.RoundRobin}); nothing to delete");
        var diff = PolicyDiff.Compute(PolicyState.From(previous), PolicyState.None, new Dictionary<string, int>());
        var result = new JsonObject { ["image"] = input.Image, ["before"] = PolicyState.From(previous).ToJson(), ["after"] = PolicyState.None.ToJson(), ["diff"] = diff.ToJson() };
        scope.RequireApproval(true, $"deleting the policy of {input.Image} ({Summary(PolicyState.From(previous))}; it falls back to {LoadBalancingAlgorithms.RoundRobin})", result);
        await scope.CallAsync(Rpcs.Policy("DeletePolicy"), input.Image, (c, t) => c.Policies.DeletePolicyAsync(request, t), ct).ConfigureAwait(false);
        var after = await ReadAsync(scope, input.Image, ct).ConfigureAwait(false);
        if (after is not null)
        {
            throw new AgentFailure(AgentErrorCodes.ConfirmFailed, $"{input.Image}: a policy ({Summary(PolicyState.From(after))}) is still stored after the delete: another change raced this one", result);
        }
        result["deleted"] = true;
        result["restore_command"] = RestoreCommand.For(input.Image, previous, "restore after delete");
        await scope.PostToChannelAsync("announcement", $"lb-policy-agent deleted the policy of {input.Image}: {string.Join("; ", diff.Lines)}",
            new JsonObject { ["image"] = input.Image, ["diff"] = diff.ToJson() }, ct).ConfigureAwait(false);
        return scope.Ok(result, DiffText(input.Image, diff, []) + $"restore with: {result["restore_command"]}{Environment.NewLine}");
    }

    /// <summary>The reference's validation (§5.2): a known algorithm; integer weights >= 1, only for weighted_rr; a sticky key exactly for consistent_hash.</summary>
    private static PolicyState Validate(SetPolicyInput input)
    {
        var problems = new List<string>();
        var weights = input.Weights ?? [];
        if (weights.Count > 0 && input.Algorithm != LoadBalancingAlgorithms.WeightedRoundRobin)
        {
            problems.Add($"weights are only used by {LoadBalancingAlgorithms.WeightedRoundRobin}, not {input.Algorithm}");
        }
        foreach (var (id, weight) in weights)
        {
            if (id.Length == 0)
            {
                problems.Add("weights: an instance id is empty");
            }
            if (weight is < 1 or > 10_000)
            {
                problems.Add($"weights.{id}: {weight} is not a whole number from 1 to 10000");
            }
        }
        var sticky = string.IsNullOrEmpty(input.StickyKey) ? null : input.StickyKey;
        if (input.Algorithm == LoadBalancingAlgorithms.ConsistentHash && sticky is null)
        {
            problems.Add($"{LoadBalancingAlgorithms.ConsistentHash} needs a sticky_key");
        }
        if (input.Algorithm != LoadBalancingAlgorithms.ConsistentHash && sticky is not null)
        {
            problems.Add($"sticky_key is only used by {LoadBalancingAlgorithms.ConsistentHash}");
        }
        if (problems.Count > 0)
        {
            throw new AgentFailure(AgentErrorCodes.PolicyInvalid, string.Join("; ", problems));
        }
        return new PolicyState(input.Algorithm, weights, sticky, true);
    }

    /// <summary>The stored policy, or null when the image has none.</summary>
    internal static async Task<RoutingPolicy?> ReadAsync(ActionScope scope, string image, CancellationToken ct)
    {
        try
        {
            var response = await scope.CallAsync(Rpcs.Policy("GetPolicy"), image, (c, t) => c.Policies.GetPolicyAsync(new GetPolicyRequest { Image = image }, t), ct).ConfigureAwait(false);
            return response.Policy;
        }
        catch (ControlPlaneException ex) when (ex.ErrorCode == AgentErrorCodes.NotFound)
        {
            return null;
        }
    }

    internal static Task<SetPolicyResponse> WriteAsync(ActionScope scope, SetPolicyRequest request, CancellationToken ct)
    {
        if (!scope.Runtime.HasToken)
        {
            throw new AgentFailure(AgentErrorCodes.Unauthorized, $"setting a policy needs the platform token: set {scope.Options.PlatformTokenVariable} or {scope.Options.PlatformTokenFileVariable}");
        }
        return scope.CallAsync(Rpcs.Policy("SetPolicy"), request.Image, (c, t) => c.Policies.SetPolicyAsync(request, t), ct);
    }

    internal static string Summary(PolicyState state) =>
        state.Algorithm + (state.Weights.Count > 0 ? " " + string.Join(",", state.Weights.OrderBy(w => w.Key, StringComparer.Ordinal).Select(w => $"{w.Key}={w.Value}")) : "") +
        (state.StickyKey is null ? "" : $" on {state.StickyKey}");

    private static string Describe(RoutingPolicy policy) =>
        $"{policy.Image}: {Summary(PolicyState.From(policy))} (version {policy.Version}, by {policy.UpdatedBy}, at {ProtoJson.Time(policy.UpdatedAt)}){Environment.NewLine}";

    private static string DiffText(string image, PolicyDiff diff, IReadOnlyList<string> unknown)
    {
        var text = new StringBuilder($"{image}: before -> after{Environment.NewLine}");
        foreach (var line in diff.Lines)
        {
            text.Append("  ").AppendLine(line);
        }
        if (unknown.Count > 0)
        {
            text.AppendLine($"  note: weights name instances that are not live: {string.Join(", ", unknown)}");
        }
        return text.ToString();
    }
}
