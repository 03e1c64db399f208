namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The "ControlPlane:Store:Redis" configuration section. The password never comes from here: it
/// is read from <see cref="PasswordVariable"/> or the file named by <see cref="PasswordFileVariable"/>.
/// </summary>
public sealed class RedisStoreOptions
{
    public const string Section = "ControlPlane:Store:Redis";

    public const string PasswordVariable = "REDIS_PASSWORD";

    public const string PasswordFileVariable = "REDIS_PASSWORD_FILE";

    /// <summary><c>redis://host:port/db</c>, or <c>rediss://</c> for TLS; no password in it.</summary>
    public string Url { get; set; } = "redis://localhost:6379/0";

    /// <summary>
    /// Put before every key (e.g. <c>cp1:</c>), so several control planes or test runs can share one
    /// Redis. Empty by default: the keys are then exactly the reference's (<c>policy:{image}</c> ...).
    /// </summary>
    public string KeyPrefix { get; set; } = "";

    /// <summary>
    /// How the keys of a deployment without a prefix begin. A prefix that begins like one of them
    /// (<c>inst:</c>, <c>policy:</c> ...) would let such a deployment on the same database write into
    /// this one's keys (its instance <c>inst_ttl</c> is the key <c>inst:inst_ttl</c>), so it is refused.
    /// </summary>
    internal static readonly string[] KeyStems =
    [
        "change_", "changes", "dataplanes", "dp:", "expiry_lags", "img:", "inst:", "inst_", "instances", "lb:",
        "policies", "policy:", "policy_changes", "replica_contact", "svc:",
    ];

    /// <summary>Throws when <see cref="KeyPrefix"/> cannot keep this deployment's keys apart (see <see cref="KeyStems"/>).</summary>
    public void ValidateKeyPrefix()
    {
        if (KeyPrefix.Length > 64)
        {
            throw new InvalidOperationException($"{Section}:{nameof(KeyPrefix)} is {KeyPrefix.Length} characters; at most 64");
        }
        if (KeyStems.FirstOrDefault(stem => KeyPrefix.StartsWith(stem, StringComparison.Ordinal)) is { } clash)
        {
            throw new InvalidOperationException(
                $"{Section}:{nameof(KeyPrefix)} '{KeyPrefix}' begins like the key '{clash}...' of a deployment without a prefix, which could then write into this one's keys; choose another (e.g. 'cp1:')");
        }
    }

    /// <summary>
    /// With <c>rediss://</c>: a PEM file of the certificate authority the server's certificate must
    /// chain to (a private CA). Unset: the system's trusted roots.
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>How long one connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the Redis client may stay without a connection before it is replaced by a fresh one
    /// (<see cref="RedisConnection"/>); 0 never replaces it. Longer than a few connect attempts, so a
    /// client that is merely retrying against a Redis that is down keeps its own schedule.
    /// </summary>
    public TimeSpan StuckConnectionTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a command may wait for its answer before the store counts as unavailable.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a replica writes the lease renewals it answered from its lease table to Redis
    /// (<see cref="RedisLeaseTable"/>). 0: no table; every heartbeat is answered only once Redis holds
    /// its new deadline (slower, exact).
    /// </summary>
    public TimeSpan RenewalCheckpointInterval { get; set; } = DefaultRenewalCheckpointInterval;

    public static readonly TimeSpan DefaultRenewalCheckpointInterval = TimeSpan.FromSeconds(1);

    /// <summary>The <see cref="ExpiryLag"/> with the default interval: an instance expires this long after its deadline.</summary>
    public static TimeSpan DefaultExpiryLag => DefaultRenewalCheckpointInterval + ExpiryLagMargin;

    /// <summary>
    /// How long after its deadline in Redis an instance may expire: a renewal a replica holds in memory
    /// reaches Redis within <see cref="RenewalCheckpointInterval"/>, so no replica may expire it before.
    /// A replica with a lease table advertises its lag in Redis, and every replica's expiry waits for the
    /// longest lag a live replica advertises, so replicas need not agree on it (a replica's own expiry
    /// pass writes its pending renewals first, so a single replica needs none). Unset: the checkpoint
    /// interval plus <see cref="ExpiryLagMargin"/> (0 when the interval is 0).
    /// </summary>
    public TimeSpan? ExpiryLag { get; set; }

    /// <summary>What the default <see cref="ExpiryLag"/> adds to the interval: a checkpoint's own write time, and clock skew between replicas.</summary>
    public static readonly TimeSpan ExpiryLagMargin = TimeSpan.FromSeconds(1);

    /// <summary>The lag in force (see <see cref="ExpiryLag"/>).</summary>
    internal TimeSpan EffectiveExpiryLag()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(RenewalCheckpointInterval, TimeSpan.Zero, nameof(RenewalCheckpointInterval));
        var lag = ExpiryLag ?? (RenewalCheckpointInterval == TimeSpan.Zero ? TimeSpan.Zero : RenewalCheckpointInterval + ExpiryLagMargin);
        ArgumentOutOfRangeException.ThrowIfLessThan(lag, TimeSpan.Zero, nameof(ExpiryLag));
        return lag;
    }

    /// <summary>Audit records kept per image (newest first), as the embedded policy store keeps.</summary>
    public int MaxPolicyChangesPerImage { get; set; } = Policies.InMemoryPolicyStore.DefaultMaxChangesPerImage;
}
