namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Round robin over a fixed member list: one <see cref="Interlocked.Increment(ref long)"/> per pick.
/// Ejected members are passed over (the next one in the rotation takes the request).
/// </summary>
internal sealed class Rotation(int[] members, long start)
{
    private long _next = start;

    public int Count => members.Length;

    /// <summary>The next member's endpoint index, or -1; <paramref name="slot"/> is its position in the rotation.</summary>
    public int Next(IEndpointHealth? health, Ejections ejections, out int slot)
    {
        slot = -1;
        var n = members.Length;
        if (n == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var first = (int)((ulong)(Interlocked.Increment(ref _next) - 1) % (ulong)n);
        for (var k = 0; k < n; k++)
        {
            var i = first + k < n ? first + k : first + k - n;
            if (ejections != Ejections.Skip || !health!.IsEjected(members[i]))
            {
                slot = i;
                return members[i];
            }
        }
        return -1;
    }
}
