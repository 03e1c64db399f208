using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.LoadBalancing;

/// <summary>
/// The endpoints one request already tried, handed to the balancer as <see cref="PickContext.Tried"/>
/// so that a retry goes to an endpoint the request has not tried while one remains. They are kept
/// apart from passive health on purpose: counted as ejections they would tip the pick into panic
/// mode, which ignores exclusions and could hand back a tried endpoint. Allocated only when a
/// request is retried.
/// </summary>
internal sealed class RetryExclusions
{
    private int[] _tried = new int[2];
    private int _count;

    /// <summary>The endpoint indexes tried so far, in order.</summary>
    public ReadOnlySpan<int> Tried => _tried.AsSpan(0, _count);

    public bool Contains(int endpointIndex) => Tried.Contains(endpointIndex);

    public void Add(int endpointIndex)
    {
        if (_count == _tried.Length)
        {
            Array.Resize(ref _tried, _count * 2);
        }
        _tried[_count++] = endpointIndex;
    }
}
