namespace ControlPlane.LoadBalancing;

/// <summary>
/// What a pick may look at besides the balancer itself: the request's sticky value, the caller's
/// in-flight counts, passive-health ejections and, for a retry, the endpoints the request already
/// tried. A ref struct, so the sticky value and the tried endpoints can be slices of the caller's
/// buffers without a copy; every part is optional (<c>default</c> is a plain pick).
/// </summary>
public readonly ref struct PickContext
{
    public PickContext(ReadOnlySpan<char> stickyValue = default, IEndpointLoad? load = null, IEndpointHealth? health = null, ReadOnlySpan<int> tried = default)
    {
        StickyValue = stickyValue;
        Load = load;
        Health = health;
        Tried = tried;
    }

    /// <summary>The value consistent_hash hashes; empty = none (consistent_hash then rotates like round_robin).</summary>
    public ReadOnlySpan<char> StickyValue { get; }

    /// <summary>In-flight requests per endpoint, for least_conn; null = all idle.</summary>
    public IEndpointLoad? Load { get; }

    /// <summary>Endpoints ejected by passive health; null = none.</summary>
    public IEndpointHealth? Health { get; }

    /// <summary>
    /// Indexes of the endpoints this request already tried (a retry); empty = none. They are not
    /// ejections: they never count toward the panic threshold, and a pick never returns one of them.
    /// It goes to an untried endpoint the health rules allow; when the request has tried every one
    /// of those, to an untried ejected one (unless the panic threshold is disabled); else it returns null.
    /// </summary>
    public ReadOnlySpan<int> Tried { get; }
}

/// <summary>Outstanding (in-flight) requests per endpoint, tracked by the caller (the dataplane).</summary>
public interface IEndpointLoad
{
    /// <summary>Requests sent to the endpoint at <paramref name="endpointIndex"/> and not yet completed.</summary>
    int GetOutstandingRequests(int endpointIndex);
}

/// <summary>
/// The dataplane's passive health as a balancer sees it. Ejected endpoints are skipped unless too
/// few would remain (<see cref="BalancerOptions.PanicThresholdPercent"/>), in which case all are used.
/// </summary>
public interface IEndpointHealth
{
    /// <summary>How many of the balancer's endpoints are ejected now. 0 lets a pick skip every check.</summary>
    int EjectedCount { get; }

    bool IsEjected(int endpointIndex);
}
