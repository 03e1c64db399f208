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
    /// With <c>rediss://</c>: a PEM file of the certificate authority the server's certificate must
    /// chain to (a private CA). Unset: the system's trusted roots.
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>How long one connection attempt may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a command may wait for its answer before the store counts as unavailable.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Audit records kept per image (newest first), as the embedded policy store keeps.</summary>
    public int MaxPolicyChangesPerImage { get; set; } = Policies.InMemoryPolicyStore.DefaultMaxChangesPerImage;
}
