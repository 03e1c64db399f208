using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Discovery;
using ControlPlane.Sdk.Registration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk;

/// <summary>Registers the SDK's helpers as hosted services (after <see cref="ControlPlaneClientServiceCollectionExtensions.AddControlPlaneClient"/>).</summary>
public static class SdkServiceCollectionExtensions
{
    /// <summary>
    /// An <see cref="InstanceRegistrar"/> that registers <see cref="InstanceRegistrarOptions.Instances"/>
    /// when the host starts, keeps them alive, and drains then deregisters them when it stops.
    /// </summary>
    public static IServiceCollection AddInstanceRegistrar(this IServiceCollection services, Action<InstanceRegistrarOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new InstanceRegistrarOptions();
        configure(options);
        services.AddSingleton(sp => new InstanceRegistrar(
            sp.GetRequiredService<IRegistryClient>(), options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<InstanceRegistrar>>(), sp.GetService<Random>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<InstanceRegistrar>());
        return services;
    }

    /// <summary>A <see cref="DiscoveryWatcher"/> running with the host; resolve it for its snapshots.</summary>
    public static IServiceCollection AddDiscoveryWatcher(this IServiceCollection services, Action<DiscoveryWatcherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new DiscoveryWatcherOptions();
        configure?.Invoke(options);
        services.AddSingleton(sp => new DiscoveryWatcher(
            sp.GetRequiredService<IDiscoveryClient>(), options, sp.GetService<TimeProvider>(), sp.GetService<ILogger<DiscoveryWatcher>>(), sp.GetService<Random>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<DiscoveryWatcher>());
        return services;
    }
}
