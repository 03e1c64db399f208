using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Internal;

internal sealed class ConsistentHashPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingAlgorithms.ConsistentHash;

    public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options) =>
        new ConsistentHashBalancer(new EndpointTable(endpoints, policy, options), options);
}

/// <summary>
/// consistent_hash: the sticky value's <see cref="StableHash"/> on a <see cref="HashRing"/> of every
/// endpoint, draining ones included, so that draining an endpoint (or resuming it) moves no key of
/// another endpoint. Draining means "no new traffic" (registry.proto; Envoy treats DRAINING as
/// unhealthy for load balancing, ring hash included): a stateless ring cannot tell a value that
/// already has work on the draining endpoint from a new one, so a key whose point falls on a
/// draining endpoint walks clockwise to the next endpoint that is not draining, exactly as the keys
/// of an ejected endpoint do (only its keys move, and they come back when it resumes); so does, for
/// one retry, an owner the request already tried. Only when every endpoint is draining are they
/// used, as by every other algorithm. Without a sticky value the request is rotated round-robin over
/// the usable endpoints (healthy first), like round_robin. Weights do not apply.
/// </summary>
internal sealed class ConsistentHashBalancer : BalancerBase
{
    private readonly HashRing _ring;
    private readonly Rotation _fallback;
    private readonly bool _skipDraining;

    public ConsistentHashBalancer(EndpointTable table, BalancerOptions options)
        : base(LoadBalancingAlgorithms.ConsistentHash, table)
    {
        _ring = new HashRing(table.All, options);
        _fallback = new Rotation(table.Usable, RoundRobinBalancer.StartOf(table.Usable.Length, options));
        _skipDraining = table.Usable.Length < table.All.Length;
    }

    public override BalancerEndpoint? Pick(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        if (context.StickyValue.IsEmpty)
        {
            return At(_fallback.Next(filter, ejections, out _, out _));
        }
        return At(Owner(StableHash.Of(context.StickyValue), filter, ejections, out _, out _));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        if (context.StickyValue.IsEmpty)
        {
            var picked = _fallback.Next(filter, ejections, out var slot, out var of);
            var reason = "consistent_hash: no sticky value, so the request is rotated like round_robin; "
                + RoundRobinBalancer.Describe(LoadBalancingAlgorithms.RoundRobin, At(picked), slot, of);
            return Explained(picked, reason, context, Table.Usable, ejections);
        }
        var hash = StableHash.Of(context.StickyValue);
        var owner = Owner(hash, filter, ejections, out var skippedDraining, out var skippedFiltered);
        var text = $"{Algorithm}: the sticky value hashes to {hash:x16}, owned by {At(owner)?.InstanceId} on a ring of {_ring.Count} points ({_ring.PointsPerEndpoint} per endpoint)";
        if (skippedDraining > 0)
        {
            text += $", after passing over {skippedDraining} points of draining endpoints (they take no new traffic)";
        }
        if (skippedFiltered > 0)
        {
            text += (skippedDraining > 0 ? " and " : ", after passing over ") + $"{skippedFiltered} points of "
                + (filter.IsRetry ? "endpoints ejected or already tried" : "ejected endpoints");
        }
        return Explained(owner, text, context, Table.Usable, ejections);
    }

    /// <summary>
    /// The endpoint index owning <paramref name="hash"/>, walking clockwise past owners that may not
    /// take it: draining ones while some endpoint is not draining, and those the filter leaves out
    /// (ejected, or tried by this request: a retry goes to the next distinct endpoint on the ring,
    /// the one that would own the key without them); -1 when none can be picked.
    /// </summary>
    private int Owner(ulong hash, in PickFilter filter, Ejections ejections, out int skippedDraining, out int skippedFiltered)
    {
        skippedDraining = skippedFiltered = 0;
        if (_ring.Count == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var position = _ring.Find(hash);
        if (filter.IsEmpty && !_skipDraining)
        {
            return _ring.OwnerAt(position);
        }
        for (var k = 0; k < _ring.Count; k++)
        {
            var owner = _ring.OwnerAt(position);
            if (_skipDraining && Table.All[owner].IsDraining)
            {
                skippedDraining++;
            }
            else if (filter.Allows(owner))
            {
                return owner;
            }
            else
            {
                skippedFiltered++;
            }
            position = position + 1 == _ring.Count ? 0 : position + 1;
        }
        return -1;
    }
}
