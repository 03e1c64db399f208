using ControlPlane.Server.Registry;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Replication;

public static class ReplicationServiceCollectionExtensions
{
    /// <summary>
    /// With a store that has a change feed (Redis, from <c>AddStores</c>): the change follower that
    /// keeps this replica's discovery cache in step with every replica's changes, and the lease grace
    /// after store outages (the expiry scheduler's <see cref="IExpiryGate"/>). Nothing with the
    /// embedded store, which has one replica. Call after <c>AddStores</c>.
    /// </summary>
    public static IServiceCollection AddReplication(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!services.Any(d => d.ServiceType == typeof(IChangeFeed)) || services.Any(d => d.ServiceType == typeof(ReplicationOptions)))
        {
            return services;
        }
        var options = configuration.GetSection(ReplicationOptions.Section).Get<ReplicationOptions>() ?? new ReplicationOptions();
        options.Validate();
        services.AddSingleton(options);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResourceChanges>();
        services.TryAddSingleton<ReplicationMetrics>();
        services.TryAddSingleton<ChangeFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<ChangeFollower>());
        services.TryAddSingleton<IStorePositionSource>(sp => sp.GetRequiredService<ChangeFollower>());
        if (services.Any(d => d.ServiceType == typeof(RedisConnection)))
        {
            services.TryAddSingleton<LeaseGrace>();
            services.TryAddSingleton<IExpiryGate>(sp => sp.GetRequiredService<LeaseGrace>());
            services.AddHostedService(sp => sp.GetRequiredService<LeaseGrace>());
            services.AddHostedService(sp => new NodeHandOff(
                sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<Discovery.Streams.StreamRegistry>(), options,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<NodeHandOff>>()));
        }
        return services;
    }
}
