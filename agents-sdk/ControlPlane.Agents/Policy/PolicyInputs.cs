using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Agents.Policy;

/// <summary>The reference's lb-policy-agent input (§5.2, PolicyIn).</summary>
internal sealed record SetPolicyInput
{
    [Description("The image whose policy is set, e.g. img.video.svc.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("The algorithm.")]
    [AllowedValues(LoadBalancingAlgorithms.RoundRobin, LoadBalancingAlgorithms.LeastConn, LoadBalancingAlgorithms.WeightedRoundRobin, LoadBalancingAlgorithms.ConsistentHash)]
    public required string Algorithm { get; init; }

    [Description("weighted_rr only: weight per instance id, whole numbers >= 1, e.g. {\"i1\": 2, \"i2\": 1}.")]
    public Dictionary<string, int>? Weights { get; init; }

    [Description("consistent_hash only (and required for it): the header, cookie or query parameter hashed, e.g. customer_id.")]
    public string? StickyKey { get; init; }

    [Description("Why, recorded in the policy's audit trail.")]
    [Length(0, 512)]
    public string? Reason { get; init; }

    [Description("Refuse the change when the image has no live instance (default true).")]
    public bool RequireLiveInstance { get; init; } = true;
}

internal sealed record ImageInput
{
    [Description("The image, e.g. img.video.svc.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("Why, recorded in the audit trail (delete only).")]
    [Length(0, 512)]
    public string? Reason { get; init; }
}

internal sealed record NoInput;
