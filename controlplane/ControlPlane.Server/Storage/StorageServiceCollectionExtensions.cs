using ControlPlane.Server.Fleet;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Stats;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The stores <c>ControlPlane:Store:Kind</c> selects: <c>memory</c> (default) leaves the embedded
    /// stores to AddRegistry, AddPolicies and AddStats; <c>redis</c> registers the Redis registry,
    /// policy, load and fleet stores and the change feed on one shared connection (replicas sharing
    /// it agree: see <c>AddReplication</c>). Call before AddRegistry/AddPolicies/AddStats/AddFleetView.
    /// Stores registered earlier (tests) win. A bad kind or Redis URL fails here, at start-up, not on
    /// the first call.
    /// </summary>
    public static IServiceCollection AddStores(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(StoreOptions.Section).Get<StoreOptions>() ?? new StoreOptions();
        switch (options.Kind.Trim().ToLowerInvariant())
        {
            case StoreOptions.Memory:
                return services;
            case StoreOptions.Redis:
                var redis = configuration.GetSection(RedisStoreOptions.Section).Get<RedisStoreOptions>() ?? new RedisStoreOptions();
                RedisUrl.Parse(redis.Url);
                redis.ValidateKeyPrefix();
                redis.EffectiveExpiryLag();
                services.TryAddSingleton(sp => RedisConnection.Connect(
                    redis, sp.GetRequiredService<ILogger<RedisConnection>>(), clock: sp.GetService<TimeProvider>() ?? TimeProvider.System));
                // What the discovery cache last read, to answer reads from while Redis cannot be reached.
                services.TryAddSingleton<StoreMirror>();
                services.TryAddSingleton(sp => new RedisRegistryStore(
                    sp.GetRequiredService<RedisConnection>(), redis, sp.GetService<TimeProvider>() ?? TimeProvider.System, sp.GetRequiredService<ILogger<RedisRegistryStore>>(),
                    sp.GetRequiredService<StoreMirror>()));
                services.TryAddSingleton<IRegistryStore>(sp => sp.GetRequiredService<RedisRegistryStore>());
                // The final lease checkpoint on shutdown (when the registry is the Redis store, not one a test put first).
                services.AddHostedService(sp => new RedisLeaseShutdown(sp.GetRequiredService<IRegistryStore>(), sp.GetRequiredService<ILogger<RedisLeaseShutdown>>()));
                services.TryAddSingleton<IPolicyStore>(sp => new RedisPolicyStore(sp.GetRequiredService<RedisConnection>(), redis.MaxPolicyChangesPerImage, sp.GetRequiredService<StoreMirror>()));
                // The discovery cache reads the Redis stores through the mirror's feed (stores a test put first are read as they are).
                services.TryAddSingleton(sp =>
                {
                    var mirror = sp.GetRequiredService<StoreMirror>();
                    var registry = sp.GetRequiredService<IRegistryStore>();
                    var policies = sp.GetService<IPolicyStore>() is RedisPolicyStore redisPolicies
                        ? new MirroredPolicyReads(redisPolicies, mirror)
                        : sp.GetService<Discovery.IRoutingPolicySource>() ?? new Discovery.NoRoutingPolicies();
                    return new Discovery.Cache.ResourceLoader(registry is RedisRegistryStore redisRegistry ? new MirroredRegistryReads(redisRegistry, mirror) : registry, policies);
                });
                // The stats options and clock are registered by AddStats (and the host); read when first used.
                services.TryAddSingleton<ILoadStore>(sp => new RedisLoadStore(
                    sp.GetRequiredService<RedisConnection>(), sp.GetService<StatsOptions>() ?? new StatsOptions(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
                services.TryAddSingleton<IChangeFeed>(sp => new RedisChangeFeed(sp.GetRequiredService<RedisConnection>()));
                services.TryAddSingleton<IFleetStore>(sp => new RedisFleetStore(sp.GetRequiredService<RedisConnection>()));
                return services;
            default:
                throw new InvalidOperationException($"{StoreOptions.Section}:Kind is '{options.Kind}'; expected '{StoreOptions.Memory}' or '{StoreOptions.Redis}'.");
        }
    }
}
