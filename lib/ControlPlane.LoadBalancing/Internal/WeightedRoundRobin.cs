using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Internal;

internal sealed class WeightedRoundRobinPolicy : ILoadBalancingPolicy
{
    public string Name => LoadBalancingAlgorithms.WeightedRoundRobin;

    public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options) =>
        new WeightedRoundRobinBalancer(new EndpointTable(endpoints, policy, options), options);
}

/// <summary>
/// Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer): on each pick every
/// endpoint's current weight grows by its weight, the largest (first on a tie) is picked and loses
/// the total. Weights {5,1,1} give a,a,b,a,c,a,a: proportional, and spread rather than bunched.
/// <para>
/// The sequence repeats every sum-of-weights picks (after dividing the weights by their GCD), so when
/// that cycle is short it is computed once at build and a pick is one interlocked increment and an
/// array read; a longer cycle runs the algorithm itself under a lock, with the same result.
/// </para>
/// <para>
/// While some endpoints are ejected the algorithm runs over the others alone, under the lock (O(n)
/// per pick), as nginx does with peers that are down or failed: each of them gets exactly its
/// weight's share of the others' total, smoothly, and none inherits an ejected endpoint's share.
/// That state starts afresh whenever the set of others changes; the precomputed cycle resumes where
/// it was when no endpoint is ejected. A retry is weighted-random among the endpoints it has not
/// tried (it leaves both sequences alone).
/// </para>
/// </summary>
internal sealed class WeightedRoundRobinBalancer : BalancerBase
{
    private readonly int[] _members;
    private readonly int[] _weights;   // reduced by their GCD, by member position
    private readonly int _total;       // sum of _weights: the cycle length
    private readonly int _fullTotal;   // sum of the effective weights, for explanations
    private readonly RandomSource _random;

    // Precomputed cycle (endpoint indexes), when short enough.
    private readonly int[]? _schedule;
    private long _cursor;

    // Otherwise nginx's state, under _lock.
    private readonly Lock _lock = new();
    private readonly int[]? _current;

    // nginx's state over the endpoints not ejected, under _lock; made at the first ejection.
    private bool[]? _partialMembers; // by member position: the set _partialCurrent belongs to
    private int[]? _partialCurrent;

    public WeightedRoundRobinBalancer(EndpointTable table, BalancerOptions options)
        : base(LoadBalancingAlgorithms.WeightedRoundRobin, table)
    {
        _members = table.Usable;
        _random = RandomSource.From(options);
        _weights = new int[_members.Length];
        var gcd = 0;
        for (var i = 0; i < _members.Length; i++)
        {
            var weight = table.All[_members[i]].Weight;
            _fullTotal += weight;
            gcd = Gcd(gcd, weight);
        }
        for (var i = 0; i < _members.Length; i++)
        {
            _weights[i] = table.All[_members[i]].Weight / gcd;
            _total += _weights[i];
        }
        if (_members.Length == 0)
        {
            return;
        }
        // Building the cycle costs total x members steps: bounded, or the locked form is used.
        if (_total <= options.MaxScheduleLength && (long)_total * _members.Length <= 16L * 1024 * 1024)
        {
            _schedule = new int[_total];
            var current = new int[_members.Length];
            for (var step = 0; step < _total; step++)
            {
                _schedule[step] = _members[Advance(current)];
            }
            _cursor = options.RandomizeStart ? _random.Next(_total) : 0;
        }
        else
        {
            _current = new int[_members.Length];
        }
    }

    public override BalancerEndpoint? Pick(in PickContext context)
    {
        var filter = Table.Filter(context, _members, out var ejections);
        return At(Choose(filter, ejections));
    }

    public override PickExplanation Explain(in PickContext context)
    {
        var filter = Table.Filter(context, _members, out var ejections);
        var picked = Choose(filter, ejections);
        var reason = "";
        if (picked >= 0)
        {
            var weight = Table.All[picked].Weight;
            if (filter.IsEmpty)
            {
                reason = $"{Algorithm}: {Table.All[picked].InstanceId} weight {weight} of {_fullTotal}";
            }
            else
            {
                var eligible = 0;
                foreach (var member in _members)
                {
                    eligible += filter.Allows(member) ? Table.All[member].Weight : 0;
                }
                reason = $"{Algorithm}: {Table.All[picked].InstanceId} weight {weight} of {eligible} "
                    + (filter.IsRetry ? "(weighted random among the endpoints this retry has not tried)" : "(over the endpoints not ejected)");
            }
        }
        return Explained(picked, reason, context, _members, ejections);
    }

    private int Choose(in PickFilter filter, Ejections ejections)
    {
        if (_members.Length == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        if (filter.IsRetry)
        {
            return WeightedRandom(filter);
        }
        if (!filter.IsEmpty)
        {
            return SmoothAmongAllowed(filter);
        }
        if (_schedule is not null)
        {
            return _schedule[(ulong)(Interlocked.Increment(ref _cursor) - 1) % (ulong)_schedule.Length];
        }
        lock (_lock)
        {
            return _members[Advance(_current!)];
        }
    }

    /// <summary>One step of nginx's smooth WRR over <paramref name="current"/>; the member position picked.</summary>
    private int Advance(int[] current)
    {
        var best = -1;
        for (var i = 0; i < current.Length; i++)
        {
            current[i] += _weights[i];
            if (best < 0 || current[i] > current[best])
            {
                best = i;
            }
        }
        current[best] -= _total;
        return best;
    }

    /// <summary>One step of nginx's smooth WRR over the members <paramref name="filter"/> allows (their own total).</summary>
    private int SmoothAmongAllowed(in PickFilter filter)
    {
        lock (_lock)
        {
            var n = _members.Length;
            var members = _partialMembers ??= new bool[n];
            var current = _partialCurrent ??= new int[n];
            var changed = false;
            var total = 0;
            for (var i = 0; i < n; i++)
            {
                var allowed = filter.Allows(_members[i]);
                changed |= allowed != members[i];
                members[i] = allowed;
                total += allowed ? _weights[i] : 0;
            }
            if (total == 0)
            {
                return -1;
            }
            if (changed)
            {
                // A new set: its cycle starts from the beginning, so it is exact from its first pick.
                Array.Clear(current);
            }
            var best = -1;
            for (var i = 0; i < n; i++)
            {
                if (!members[i])
                {
                    continue;
                }
                current[i] += _weights[i];
                if (best < 0 || current[i] > current[best])
                {
                    best = i;
                }
            }
            current[best] -= total;
            return _members[best];
        }
    }

    /// <summary>A member the filter allows, at random in proportion to its weight; -1 when none is allowed.</summary>
    private int WeightedRandom(in PickFilter filter)
    {
        var total = 0;
        for (var i = 0; i < _members.Length; i++)
        {
            total += filter.Allows(_members[i]) ? _weights[i] : 0;
        }
        if (total == 0)
        {
            return -1;
        }
        var target = _random.Next(total);
        var last = -1;
        for (var i = 0; i < _members.Length; i++)
        {
            if (!filter.Allows(_members[i]))
            {
                continue;
            }
            last = _members[i];
            target -= _weights[i];
            if (target < 0)
            {
                return last;
            }
        }
        return last; // less weight than counted: an ejection began meanwhile
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }
}
