using ControlPlane.Server.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Registry;

public static class RegistryServiceCollectionExtensions
{
    /// <summary>The registry on the embedded store unless another <see cref="IRegistryStore"/> is registered first.</summary>
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration, Action<RegistryOptions>? configure = null)
    {
        var options = configuration.GetSection(RegistryOptions.Section).Get<RegistryOptions>() ?? new RegistryOptions();
        configure?.Invoke(options);
        services.AddSingleton(options);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRegistryStore, InMemoryRegistryStore>();
        services.TryAddSingleton<Resources.ResourceChanges>();
        services.AddSingleton<RegistryMetrics>();
        services.AddSingleton<ExpiryScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ExpiryScheduler>());
        services.AddSingleton<ServiceRegistry>();
        services.AddSingleton<RegistryService>();
        return services;
    }
}
