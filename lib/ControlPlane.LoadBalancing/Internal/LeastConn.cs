using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Internal;

internal sealed class LeastConnPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingAlgorithms.LeastConn;

    public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options) =>
        new LeastConnBalancer(new EndpointTable(endpoints, policy, options), RandomSource.From(options));
}

/// <summary>
/// Least outstanding requests by the power of two choices (Mitzenmacher; Envoy's LEAST_REQUEST,
/// YARP's PowerOfTwoChoices): two distinct usable endpoints drawn at random, the one with fewer
/// in-flight requests wins (the first drawn on a tie). O(1) per pick, no shared state but the
/// random sequence; it never picks the most loaded endpoint when loads differ. Ejected endpoints,
/// and for a retry the endpoints already tried, are never drawn.
/// </summary>
internal sealed class LeastConnBalancer(EndpointTable table, RandomSource random) : BalancerBase(LoadBalancingAlgorithms.LeastConn, table)
{
    // Draws that may hit an ejected endpoint before falling back to a scan.
    private const int Attempts = 4;

    public override BalancerEndpoint? Pick(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        return At(Choose(context, filter, ejections, out _, out _));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        var filter = Table.Filter(context, Table.Usable, out var ejections);
        var picked = Choose(context, filter, ejections, out var first, out var second);
        string reason;
        if (picked < 0)
        {
            reason = "";
        }
        else if (second < 0)
        {
            reason = $"{Algorithm}: {Table.All[picked].InstanceId} is the only endpoint to choose from";
        }
        else
        {
            var other = picked == first ? second : first;
            var load = context.Load;
            reason = $"{Algorithm}: {Table.All[picked].InstanceId} ({load?.GetOutstandingRequests(picked) ?? 0} outstanding) over "
                + $"{Table.All[other].InstanceId} ({load?.GetOutstandingRequests(other) ?? 0} outstanding), power of two random choices"
                + (load is null ? "; no load is known, so the first choice wins" : "");
        }
        return Explained(picked, reason, context, Table.Usable, ejections);
    }

    private int Choose(in PickContext context, in PickFilter filter, Ejections ejections, out int first, out int second)
    {
        var members = Table.Usable;
        first = second = -1;
        if (members.Length == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        first = Draw(members, filter, -1);
        if (first < 0)
        {
            return -1;
        }
        second = members.Length > 1 ? Draw(members, filter, first) : -1;
        if (second < 0 || context.Load is not { } load)
        {
            return first;
        }
        return load.GetOutstandingRequests(second) < load.GetOutstandingRequests(first) ? second : first;
    }

    /// <summary>A random member the filter allows, other than <paramref name="not"/> (an endpoint index), or -1.</summary>
    private int Draw(int[] members, in PickFilter filter, int not)
    {
        var n = members.Length;
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            int candidate;
            if (not < 0)
            {
                candidate = members[random.Next(n)];
            }
            else
            {
                // Distinct from the first choice: draw among the n-1 others.
                candidate = members[random.Next(n - 1)];
                if (candidate == not)
                {
                    candidate = members[n - 1];
                }
            }
            if (filter.IsEmpty || filter.Allows(candidate))
            {
                return candidate;
            }
        }
        // Many left out (ejected, or tried by this retry): draw uniformly among the rest. (Scanning
        // from a random start would favour whichever member follows a run of left-out ones.)
        var allowed = filter.CountAllowed(members) - (not >= 0 && filter.Allows(not) ? 1 : 0);
        if (allowed <= 0)
        {
            return -1;
        }
        var k = random.Next(allowed);
        var last = -1;
        foreach (var candidate in members)
        {
            if (candidate != not && filter.Allows(candidate))
            {
                if (k-- == 0)
                {
                    return candidate;
                }
                last = candidate;
            }
        }
        return last; // fewer than counted: an ejection began meanwhile
    }
}
