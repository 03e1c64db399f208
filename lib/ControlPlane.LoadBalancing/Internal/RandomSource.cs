namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// A lock-free, allocation-free random sequence for the hot path: SplitMix64 (Steele, Lea and Flood,
/// "Fast splittable pseudorandom number generators", 2014) whose state advances with one
/// <see cref="Interlocked.Add(ref long, long)"/>, so concurrent picks never share a lock and a
/// seeded balancer picks reproducibly on one thread. Seeded once from the injected <see cref="Random"/>.
/// </summary>
internal sealed class RandomSource(long seed)
{
    private const long Gamma = unchecked((long)0x9E3779B97F4A7C15);

    private long _state = seed;

    public static RandomSource From(BalancerOptions options) => new((options.Random ?? Random.Shared).NextInt64());

    /// <summary>A value in [0, <paramref name="maxExclusive"/>); <paramref name="maxExclusive"/> must be positive.</summary>
    public int Next(int maxExclusive)
    {
        var z = StableHash.Mix((ulong)Interlocked.Add(ref _state, Gamma));
        // Lemire's multiply-shift: the top 32 bits scaled to the range, no division.
        return (int)(((z >> 32) * (uint)maxExclusive) >> 32);
    }
}
