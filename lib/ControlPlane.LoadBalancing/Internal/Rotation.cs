namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Round robin over a fixed member list: one <see cref="Interlocked.Increment(ref long)"/> per pick.
/// Members the pick may not use (ejected, or tried by the request being retried) are passed over
/// (the next one in the rotation takes the request).
/// </summary>
internal sealed class Rotation(int[] members, long start)
{
    private long _next = start;

    public int Count => members.Length;

    /// <summary>
    /// The next member's endpoint index, or -1 when none may be used; <paramref name="slot"/> is its
    /// position (from 0) in the rotation of <paramref name="of"/> members.
    /// </summary>
    public int Next(in PickFilter filter, Ejections ejections, out int slot, out int of)
    {
        slot = -1;
        of = members.Length;
        var n = members.Length;
        if (n == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var first = (int)((ulong)(Interlocked.Increment(ref _next) - 1) % (ulong)n);
        for (var k = 0; k < n; k++)
        {
            var i = first + k < n ? first + k : first + k - n;
            if (filter.IsEmpty || filter.Allows(members[i]))
            {
                slot = i;
                return members[i];
            }
        }
        return -1;
    }
}
