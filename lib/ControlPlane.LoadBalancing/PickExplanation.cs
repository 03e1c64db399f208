namespace ControlPlane.LoadBalancing;

/// <summary>A pick and why it was made (<see cref="ILoadBalancer.Explain"/>).</summary>
/// <param name="Endpoint">The endpoint picked; null when none could be.</param>
/// <param name="Reason">Human-readable, e.g. "weighted_rr: i1 weight 2 of 3".</param>
/// <param name="Candidates">Every endpoint, in EndpointSet order, with whether the algorithm could pick it.</param>
/// <param name="Panic">True when ejections were ignored: too few endpoints remained, or a retry had tried every other one.</param>
public sealed record PickExplanation(BalancerEndpoint? Endpoint, string Reason, IReadOnlyList<CandidateExplanation> Candidates, bool Panic);

/// <summary>One endpoint as a pick judged it.</summary>
/// <param name="ExcludedReason">Why not, when not eligible: <see cref="ExcludedReasons.Draining"/>, <see cref="ExcludedReasons.Tried"/> or <see cref="ExcludedReasons.Ejected"/>.</param>
public sealed record CandidateExplanation(BalancerEndpoint Endpoint, bool Eligible, string? ExcludedReason);

/// <summary>The <see cref="CandidateExplanation.ExcludedReason"/> values.</summary>
public static class ExcludedReasons
{
    /// <summary>Draining while healthy endpoints exist.</summary>
    public const string Draining = "draining";

    /// <summary>Ejected by passive health (and no panic).</summary>
    public const string Ejected = "ejected";

    /// <summary>Already tried by this request (<see cref="PickContext.Tried"/>).</summary>
    public const string Tried = "tried";
}
