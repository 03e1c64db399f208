using ControlPlane.Sdk.Clients;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Sdk;

/// <summary>Registers the control-plane client in a service collection.</summary>
public static class ControlPlaneClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="ControlPlaneClient"/> and each of its typed clients
    /// (<see cref="IRegistryClient"/>, <see cref="IPolicyClient"/>, <see cref="IRouteClient"/>,
    /// <see cref="IDataplaneClient"/>, <see cref="IStatsClient"/>, <see cref="IBillingClient"/>,
    /// <see cref="IDiscoveryClient"/>, <see cref="ILoadReportClient"/>, <see cref="IControlPlaneInvoker"/>) as singletons. The
    /// container's <see cref="TimeProvider"/> and logging are used when registered.
    /// </summary>
    public static IServiceCollection AddControlPlaneClient(this IServiceCollection services, Action<ControlPlaneClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ControlPlaneClientOptions>().Configure(configure);
        services.TryAddSingleton(sp => ControlPlaneClient.Create(
            sp.GetRequiredService<IOptions<ControlPlaneClientOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<Random>(),
            getVariable: null));
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Invoker);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Registry);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Policies);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Routes);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Dataplanes);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Stats);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Billing);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().Discovery);
        services.TryAddSingleton(sp => sp.GetRequiredService<ControlPlaneClient>().LoadReports);
        return services;
    }
}
