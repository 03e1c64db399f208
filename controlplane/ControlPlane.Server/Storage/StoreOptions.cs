namespace ControlPlane.Server.Storage;

/// <summary>The "ControlPlane:Store" configuration section: which store holds the registry and the policies.</summary>
public sealed class StoreOptions
{
    public const string Section = "ControlPlane:Store";

    public const string Memory = "memory";

    public const string Redis = "redis";

    /// <summary><c>memory</c> (the embedded store, default) or <c>redis</c> (scale-out: see <see cref="Storage.Redis.RedisStoreOptions"/>).</summary>
    public string Kind { get; set; } = Memory;
}
