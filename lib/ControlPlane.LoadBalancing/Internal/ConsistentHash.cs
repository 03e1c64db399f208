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
/// endpoint, draining ones included. Draining means "finish in-flight and sticky work only"
/// (resources.proto), so a value keeps reaching its draining endpoint until the instance is gone,
/// and marking an endpoint draining moves no key. An ejected owner passes the key to the next
/// endpoint clockwise (only that endpoint's keys move, and they come back when it does); so does,
/// for one retry, an owner the request already tried. Without a
/// sticky value the request is rotated round-robin over the usable endpoints (healthy first), like
/// round_robin. Weights do not apply.
/// </summary>
internal sealed class ConsistentHashBalancer : BalancerBase
{
    private readonly HashRing _ring;
    private readonly Rotation _fallback;

    public ConsistentHashBalancer(EndpointTable table, BalancerOptions options)
        : base(LoadBalancingAlgorithms.ConsistentHash, table)
    {
        _ring = new HashRing(table.All, options);
        _fallback = new Rotation(table.Usable, RoundRobinBalancer.StartOf(table.Usable.Length, options));
    }

    public override BalancerEndpoint? Pick(in PickContext context)
    {
        if (context.StickyValue.IsEmpty)
        {
            var usable = Table.Filter(context, Table.Usable, out var rotated);
            return At(_fallback.Next(usable, rotated, out _, out _));
        }
        var filter = Table.Filter(context, Table.Everyone, out var ejections);
        return At(Owner(StableHash.Of(context.StickyValue), filter, ejections, out _));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        if (context.StickyValue.IsEmpty)
        {
            var usable = Table.Filter(context, Table.Usable, out var rotated);
            var picked = _fallback.Next(usable, rotated, out var slot, out var of);
            var reason = "consistent_hash: no sticky value, so the request is rotated like round_robin; "
                + RoundRobinBalancer.Describe(LoadBalancingAlgorithms.RoundRobin, At(picked), slot, of);
            return Explained(picked, reason, context, Table.Usable, rotated);
        }
        var filter = Table.Filter(context, Table.Everyone, out var ejections);
        var hash = StableHash.Of(context.StickyValue);
        var owner = Owner(hash, filter, ejections, out var skipped);
        var text = $"{Algorithm}: the sticky value hashes to {hash:x16}, owned by {At(owner)?.InstanceId} on a ring of {_ring.Count} points ({_ring.PointsPerEndpoint} per endpoint)";
        if (skipped > 0)
        {
            text += $", after passing over {skipped} points of " + (filter.IsRetry ? "endpoints ejected or already tried" : "ejected endpoints");
        }
        if (At(owner) is { IsDraining: true } && !Table.DrainingOnly)
        {
            text += "; it is draining but keeps its sticky work";
        }
        return Explained(owner, text, context, Table.Everyone, ejections, drainingConsidered: false);
    }

    /// <summary>
    /// The endpoint index owning <paramref name="hash"/>, walking clockwise past owners the filter
    /// leaves out (ejected, or tried by this request: a retry goes to the next distinct endpoint on
    /// the ring, the one that would own the key without them); -1 when none can be picked.
    /// </summary>
    private int Owner(ulong hash, in PickFilter filter, Ejections ejections, out int skipped)
    {
        skipped = 0;
        if (_ring.Count == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var position = _ring.Find(hash);
        if (filter.IsEmpty)
        {
            return _ring.OwnerAt(position);
        }
        for (var k = 0; k < _ring.Count; k++)
        {
            var owner = _ring.OwnerAt(position);
            if (filter.Allows(owner))
            {
                return owner;
            }
            skipped++;
            position = position + 1 == _ring.Count ? 0 : position + 1;
        }
        return -1;
    }
}
