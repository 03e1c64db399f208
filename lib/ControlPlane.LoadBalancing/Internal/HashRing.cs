namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// A consistent-hash ring (Karger et al., 1997; Envoy's RING_HASH, nginx's ketama): each endpoint
/// owns a fixed number of points placed by hashing its instance id, and a key belongs to the first
/// point at or after its hash. A point's place depends on its own instance id alone, so adding an
/// endpoint takes over only the keys that land on its new points (about 1/(N+1) of them), and
/// removing one moves only its own keys; every other key stays put, on every node.
/// </summary>
internal sealed class HashRing
{
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private readonly ulong[] _points;
    private readonly int[] _owners;

    public HashRing(BalancerEndpoint[] endpoints, BalancerOptions options)
    {
        var n = endpoints.Length;
        PointsPerEndpoint = n == 0 ? 0 : Math.Max(1, Math.Min(options.VirtualNodesPerEndpoint, options.MaxRingSize / n));
        var entries = new (ulong Point, BalancerEndpoint Owner)[n * PointsPerEndpoint];
        var next = 0;
        foreach (var endpoint in endpoints)
        {
            var seed = StableHash.Of(endpoint.InstanceId);
            for (var i = 1; i <= PointsPerEndpoint; i++)
            {
                entries[next++] = (StableHash.Mix(seed + (ulong)i * Golden), endpoint);
            }
        }
        // Equal points (rare) are ordered by instance id, so every node builds the same ring.
        Array.Sort(entries, static (a, b) => a.Point != b.Point ? a.Point.CompareTo(b.Point) : string.CompareOrdinal(a.Owner.InstanceId, b.Owner.InstanceId));
        _points = new ulong[entries.Length];
        _owners = new int[entries.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            _points[i] = entries[i].Point;
            _owners[i] = entries[i].Owner.Index;
        }
    }

    public int PointsPerEndpoint { get; }

    public int Count => _points.Length;

    /// <summary>The ring position owning <paramref name="hash"/>: the first point at or after it, wrapping around.</summary>
    public int Find(ulong hash)
    {
        var i = Array.BinarySearch(_points, hash);
        if (i < 0)
        {
            i = ~i;
        }
        return i == _points.Length ? 0 : i;
    }

    /// <summary>The endpoint index owning the point at <paramref name="position"/>.</summary>
    public int OwnerAt(int position) => _owners[position];
}
