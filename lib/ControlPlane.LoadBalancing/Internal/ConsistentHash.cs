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
/// endpoint clockwise (only that endpoint's keys move, and they come back when it does). Without a
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
            return At(_fallback.Next(context.Health, Table.Judge(context.Health, Table.Usable), out _));
        }
        return At(Owner(StableHash.Of(context.StickyValue), context.Health, Table.Judge(context.Health, Table.Everyone), out _));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        if (context.StickyValue.IsEmpty)
        {
            var ejections = Table.Judge(context.Health, Table.Usable);
            var picked = _fallback.Next(context.Health, ejections, out var slot);
            var reason = "consistent_hash: no sticky value, so the request is rotated like round_robin; "
                + RoundRobinBalancer.Describe(LoadBalancingAlgorithms.RoundRobin, At(picked), slot, _fallback.Count);
            return Explained(picked, reason, context, Table.Usable, ejections);
        }
        var all = Table.Judge(context.Health, Table.Everyone);
        var hash = StableHash.Of(context.StickyValue);
        var owner = Owner(hash, context.Health, all, out var skipped);
        var text = $"{Algorithm}: the sticky value hashes to {hash:x16}, owned by {At(owner)?.InstanceId} on a ring of {_ring.Count} points ({_ring.PointsPerEndpoint} per endpoint)";
        if (skipped > 0)
        {
            text += $", after passing over {skipped} points of ejected endpoints";
        }
        if (At(owner) is { IsDraining: true } && !Table.DrainingOnly)
        {
            text += "; it is draining but keeps its sticky work";
        }
        return Explained(owner, text, context, Table.Everyone, all, drainingConsidered: false);
    }

    /// <summary>The endpoint index owning <paramref name="hash"/>, walking past ejected owners; -1 when none can be picked.</summary>
    private int Owner(ulong hash, IEndpointHealth? health, Ejections ejections, out int skipped)
    {
        skipped = 0;
        if (_ring.Count == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var position = _ring.Find(hash);
        if (ejections != Ejections.Skip)
        {
            return _ring.OwnerAt(position);
        }
        for (var k = 0; k < _ring.Count; k++)
        {
            var owner = _ring.OwnerAt(position);
            if (!health!.IsEjected(owner))
            {
                return owner;
            }
            skipped++;
            position = position + 1 == _ring.Count ? 0 : position + 1;
        }
        return -1;
    }
}
