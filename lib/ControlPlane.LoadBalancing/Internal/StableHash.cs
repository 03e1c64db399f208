namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// The hash every dataplane node and the route preview must agree on, in every process: 64-bit
/// FNV-1a over the UTF-16 code units, then MurmurHash3's fmix64 finalizer for avalanche.
/// (<see cref="string.GetHashCode()"/> is randomized per process and cannot be used.)
/// </summary>
internal static class StableHash
{
    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    public static ulong Of(ReadOnlySpan<char> value)
    {
        var hash = OffsetBasis;
        foreach (var c in value)
        {
            hash = (hash ^ c) * Prime;
        }
        return Mix(hash);
    }

    /// <summary>MurmurHash3 fmix64.</summary>
    public static ulong Mix(ulong z)
    {
        z ^= z >> 33;
        z *= 0xFF51AFD7ED558CCD;
        z ^= z >> 33;
        z *= 0xC4CEB9FE1A85EC53;
        z ^= z >> 33;
        return z;
    }
}
