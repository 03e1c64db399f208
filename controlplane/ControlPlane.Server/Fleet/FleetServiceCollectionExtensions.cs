using ControlPlane.Server.Registry;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Fleet;

public static class FleetServiceCollectionExtensions
{
    /// <summary>The fleet sync view over the discovery streams (needs <c>AddDiscovery</c>); the topology lists its nodes.</summary>
    public static IServiceCollection AddFleetView(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(FleetOptions.Section).Get<FleetOptions>() ?? new FleetOptions();
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<FleetView>();
        services.TryAddSingleton<IDataplaneDirectory>(sp => sp.GetRequiredService<FleetView>());
        services.TryAddSingleton<DataplaneService>();
        return services;
    }
}
