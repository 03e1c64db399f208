using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Internal;

/// <summary>How a pick treats passive-health ejections among the endpoints it may use.</summary>
internal enum Ejections
{
    /// <summary>Nothing is ejected: no checks.</summary>
    None,

    /// <summary>Skip ejected endpoints.</summary>
    Skip,

    /// <summary>Too few would remain: ignore ejections (panic threshold).</summary>
    Panic,

    /// <summary>Every endpoint is ejected and panic is disabled: nothing can be picked.</summary>
    NoneLeft,

    /// <summary>
    /// A retry has tried every endpoint that is not ejected: the untried ejected ones are used (for
    /// this request none is left, the panic case; never when panic is disabled).
    /// </summary>
    TriedAllOthers,
}

/// <summary>
/// The endpoints of one balancer and the rules every algorithm shares (resources.proto): healthy
/// endpoints take new traffic; draining ones only when no endpoint is healthy; passive-health
/// ejections are skipped unless fewer than the panic threshold would remain; a retry never goes
/// back to an endpoint it tried (<see cref="Filter"/>).
/// </summary>
internal sealed class EndpointTable
{
    private readonly int _panicPercent;

    public EndpointTable(EndpointSet set, RoutingPolicy? policy, BalancerOptions options)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(options);
        _panicPercent = Math.Clamp(options.PanicThresholdPercent, 0, 100);
        All = new BalancerEndpoint[set.Endpoints.Count];
        var healthy = new List<int>(All.Length);
        var draining = new List<int>();
        for (var i = 0; i < All.Length; i++)
        {
            var endpoint = set.Endpoints[i];
            All[i] = new BalancerEndpoint(i, endpoint, WeightOf(endpoint, policy));
            (All[i].IsDraining ? draining : healthy).Add(i);
        }
        DrainingOnly = healthy.Count == 0 && draining.Count > 0;
        Usable = DrainingOnly ? [.. draining] : [.. healthy];
    }

    public const int MaxWeight = 10_000;

    public BalancerEndpoint[] All { get; }

    /// <summary>Indexes of the endpoints new traffic may use: the healthy ones, or the draining ones when none is healthy.</summary>
    public int[] Usable { get; }

    /// <summary>No endpoint is healthy: draining endpoints take the traffic.</summary>
    public bool DrainingOnly { get; }

    /// <summary>The policy's weight for the instance, else the endpoint's, else 1 (a weight counts only when 1-10000).</summary>
    public static int WeightOf(Endpoint endpoint, RoutingPolicy? policy)
    {
        if (policy is not null && policy.Weights.TryGetValue(endpoint.InstanceId, out var w) && w is >= 1 and <= MaxWeight)
        {
            return w;
        }
        return endpoint.Weight is >= 1 and <= MaxWeight ? endpoint.Weight : 1;
    }

    /// <summary>How a pick among <paramref name="members"/> treats ejections. O(1) unless ejections could trip the panic threshold.</summary>
    private Ejections Judge(IEndpointHealth? health, int[] members)
    {
        var ejected = health?.EjectedCount ?? 0;
        if (ejected <= 0 || members.Length == 0)
        {
            return Ejections.None;
        }
        var minimum = (int)Math.Ceiling(members.Length * _panicPercent / 100.0);
        if (members.Length - ejected >= Math.Max(minimum, 1))
        {
            return Ejections.Skip; // even if every ejected endpoint is a member, enough remain
        }
        var eligible = 0;
        foreach (var index in members)
        {
            if (!health!.IsEjected(index))
            {
                eligible++;
            }
        }
        return eligible < minimum ? Ejections.Panic : eligible == 0 ? Ejections.NoneLeft : eligible == members.Length ? Ejections.None : Ejections.Skip;
    }

    /// <summary>
    /// What one pick among <paramref name="members"/> may use. Ejections are judged on passive
    /// health alone (<see cref="Judge"/>): the endpoints a request tried are not ejections, so
    /// excluding them never tips a retry into panic, where it could be handed a tried endpoint
    /// while an untried one remains. The filter then leaves out both the skipped ejections and the
    /// tried endpoints. O(1) for a first attempt; a retry among ejections costs one O(n) count.
    /// </summary>
    public PickFilter Filter(in PickContext context, int[] members, out Ejections ejections)
    {
        ejections = Judge(context.Health, members);
        var filter = new PickFilter(ejections == Ejections.Skip ? context.Health : null, context.Tried);
        if (ejections == Ejections.Skip && filter.IsRetry && _panicPercent > 0 && filter.CountAllowed(members) == 0)
        {
            // Every endpoint passive health allows failed this request: an ejected one may be back,
            // the tried ones have just failed. The panic threshold's reasoning, for one request.
            ejections = Ejections.TriedAllOthers;
            filter = new PickFilter(null, context.Tried);
        }
        return filter;
    }

    /// <summary>Every endpoint with whether a pick among <paramref name="members"/> could use it.</summary>
    public CandidateExplanation[] Candidates(in PickContext context, int[] members, Ejections ejections)
    {
        var health = context.Health;
        var tried = context.Tried;
        var isMember = new bool[All.Length];
        foreach (var index in members)
        {
            isMember[index] = true;
        }
        var candidates = new CandidateExplanation[All.Length];
        foreach (var endpoint in All)
        {
            candidates[endpoint.Index] =
                !isMember[endpoint.Index] ? new(endpoint, false, ExcludedReasons.Draining)
                : tried.Contains(endpoint.Index) ? new(endpoint, false, ExcludedReasons.Tried)
                : ejections is Ejections.Skip or Ejections.NoneLeft && health!.IsEjected(endpoint.Index) ? new(endpoint, false, ExcludedReasons.Ejected)
                : new(endpoint, true, null);
        }
        return candidates;
    }

    /// <summary>What the explanation adds after the algorithm's own reason: draining-only and panic notes.</summary>
    public string Notes(Ejections ejections)
    {
        var notes = "";
        if (DrainingOnly)
        {
            notes += "; no healthy endpoint, so draining endpoints are used";
        }
        if (ejections == Ejections.Panic)
        {
            notes += $"; panic: fewer than {_panicPercent}% of the endpoints are not ejected, so ejections are ignored";
        }
        if (ejections == Ejections.NoneLeft)
        {
            notes += "; every endpoint is ejected";
        }
        if (ejections == Ejections.TriedAllOthers)
        {
            notes += "; this retry has tried every endpoint that is not ejected, so ejected ones are used";
        }
        return notes;
    }
}
