namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Which of its members one pick may use: not ejected (while ejections are skipped) and not tried
/// by this request. <see cref="IsEmpty"/> (nothing ejected, a first attempt) lets a pick skip every check.
/// </summary>
internal readonly ref struct PickFilter(IEndpointHealth? skipEjected, ReadOnlySpan<int> tried)
{
    private readonly IEndpointHealth? _skipEjected = skipEjected;
    private readonly ReadOnlySpan<int> _tried = tried;

    /// <summary>Every member may be used.</summary>
    public bool IsEmpty => _skipEjected is null && _tried.IsEmpty;

    /// <summary>The request has tried endpoints before (a retry).</summary>
    public bool IsRetry => !_tried.IsEmpty;

    public bool Allows(int endpointIndex) => !Tried(endpointIndex) && HealthAllows(endpointIndex);

    /// <summary>Not skipped as ejected, whether or not this request tried it.</summary>
    public bool HealthAllows(int endpointIndex) => _skipEjected is null || !_skipEjected.IsEjected(endpointIndex);

    public bool Tried(int endpointIndex) => !_tried.IsEmpty && _tried.Contains(endpointIndex);

    /// <summary>How many of <paramref name="members"/> may be used. O(n).</summary>
    public int CountAllowed(int[] members)
    {
        if (IsEmpty)
        {
            return members.Length;
        }
        var count = 0;
        foreach (var member in members)
        {
            if (Allows(member))
            {
                count++;
            }
        }
        return count;
    }
}
