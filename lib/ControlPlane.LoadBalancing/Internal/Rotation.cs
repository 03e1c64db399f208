namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Round robin over a fixed member list: one <see cref="Interlocked.Increment(ref long)"/> per pick.
/// While some members are ejected the rotation runs over the others alone, as Envoy's round robin
/// runs over the healthy hosts: the n-th pick takes the (n mod k)-th of the k members not ejected,
/// so they share the traffic evenly. (Passing an ejected member's turn on to the next one would
/// give that one a double share.) That costs one O(n) pass per pick while it lasts. A retry takes
/// its turn like any pick and, when the turn falls on a member it tried, the next member in the
/// rotation it has not tried: the tried ones are not taken out of the rotation, whose turns are
/// everyone's, so a failing member's retries go to the members after it in turn.
/// </summary>
internal sealed class Rotation(int[] members, long start)
{
    private long _next = start;

    public int Count => members.Length;

    /// <summary>
    /// The next member's endpoint index, or -1 when none may be used; <paramref name="slot"/> is the
    /// turn's position (from 0) among the <paramref name="of"/> members not ejected.
    /// </summary>
    public int Next(in PickFilter filter, Ejections ejections, out int slot, out int of)
    {
        slot = -1;
        of = 0;
        var n = members.Length;
        if (n == 0 || ejections == Ejections.NoneLeft)
        {
            return -1;
        }
        var ticket = (ulong)(Interlocked.Increment(ref _next) - 1);
        if (filter.IsEmpty)
        {
            of = n;
            slot = (int)(ticket % (ulong)n);
            return members[slot];
        }
        of = CountNotEjected(filter);
        if (of == 0)
        {
            return -1;
        }
        slot = (int)(ticket % (ulong)of);
        var position = NthNotEjected(filter, slot);
        if (position < 0)
        {
            // An ejection began between the two passes: go on from the ticket's place.
            position = (int)(ticket % (ulong)n);
        }
        // The turn's member, or the first after it this request may use (not tried, not ejected).
        for (var k = 0; k < n; k++)
        {
            var i = position + k < n ? position + k : position + k - n;
            if (filter.Allows(members[i]))
            {
                if (k > 0)
                {
                    slot = CountNotEjected(filter, before: i);
                }
                return members[i];
            }
        }
        return -1;
    }

    /// <summary>Members not ejected among the first <paramref name="before"/> (all by default).</summary>
    private int CountNotEjected(in PickFilter filter, int before = int.MaxValue)
    {
        var count = 0;
        for (var i = 0; i < members.Length && i < before; i++)
        {
            if (filter.HealthAllows(members[i]))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>The position of the <paramref name="k"/>-th (from 0) member not ejected, or -1.</summary>
    private int NthNotEjected(in PickFilter filter, int k)
    {
        for (var i = 0; i < members.Length; i++)
        {
            if (filter.HealthAllows(members[i]) && k-- == 0)
            {
                return i;
            }
        }
        return -1;
    }
}
