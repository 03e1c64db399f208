using ControlPlane.Server.Registry;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Fleet;

public static class FleetServiceCollectionExtensions
{
    /// <summary>
    /// The fleet sync view over the discovery streams (needs <c>AddDiscovery</c>); the topology lists
    /// its nodes. When an <see cref="IFleetStore"/> is registered already (<c>AddStores</c> with
    /// Redis), this replica publishes its nodes there and the view lists every replica's.
    /// </summary>
    public static IServiceCollection AddFleetView(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(FleetOptions.Section).Get<FleetOptions>() ?? new FleetOptions();
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<FleetView>();
        // Built when the host starts, not on first use: the view learns of nodes as their streams close,
        // so one built by the first fleet or topology request would never list a node that came and went before it.
        services.AddHostedService<FleetViewActivation>();
        if (services.Any(d => d.ServiceType == typeof(IFleetStore)))
        {
            services.TryAddSingleton<FleetPublisher>();
            services.AddHostedService(sp => sp.GetRequiredService<FleetPublisher>());
        }
        services.TryAddSingleton<IDataplaneDirectory>(sp => sp.GetRequiredService<FleetView>());
        services.TryAddSingleton<DataplaneService>();
        return services;
    }

    private sealed class FleetViewActivation : IHostedService
    {
        // Taking the view is the point: the host builds it before it serves a request.
        public FleetViewActivation(FleetView view) => ArgumentNullException.ThrowIfNull(view);

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
