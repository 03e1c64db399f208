using ControlPlane.Server.Resources;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Policies;

public static class PolicyServiceCollectionExtensions
{
    /// <summary>
    /// Routing policies on the embedded store unless another <see cref="IPolicyStore"/> is registered
    /// first. Unknown instance ids are looked up in the registry's store: call after AddRegistry.
    /// </summary>
    public static IServiceCollection AddPolicies(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResourceChanges>();
        services.TryAddSingleton<IPolicyStore>(_ => new InMemoryPolicyStore());
        services.TryAddSingleton<PolicyMetrics>();
        services.TryAddSingleton<PolicyRegistry>();
        services.TryAddSingleton<PolicyService>();
        // Registered before AddDiscovery, whose default is "no policies".
        services.TryAddSingleton<PolicyStoreRoutingPolicySource>();
        services.TryAddSingleton<Discovery.IRoutingPolicySource>(sp => sp.GetRequiredService<PolicyStoreRoutingPolicySource>());
        services.TryAddSingleton<Registry.IImageAlgorithms>(sp => sp.GetRequiredService<PolicyStoreRoutingPolicySource>());
        return services;
    }
}
