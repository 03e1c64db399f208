using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Resources;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Discovery;

public static class DiscoveryServiceCollectionExtensions
{
    /// <summary>
    /// The discovery service: the resource cache (loaded when the host starts, rebuilt on
    /// <see cref="ResourceChanges"/>), the stream server, the stream registry
    /// (<see cref="IDataplaneStreams"/>) and the dataplane token check, appended to the gRPC
    /// interceptors. Needs the registry (<c>AddRegistry</c>). Routing policies come from the
    /// <see cref="IRoutingPolicySource"/> registered in the container (before or after this call);
    /// without one there are none.
    /// A second call changes nothing (the first one's options stand).
    /// </summary>
    public static IServiceCollection AddDiscovery(this IServiceCollection services, IConfiguration configuration, Action<DiscoveryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(DiscoveryOptions)))
        {
            return services;
        }
        var options = configuration.GetSection(DiscoveryOptions.Section).Get<DiscoveryOptions>() ?? new DiscoveryOptions();
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResourceChanges>();

        services.AddDataplaneAuth();

        services.TryAddSingleton<DiscoveryMetrics>();
        // Whichever IRoutingPolicySource is registered, before or after this call; none means no policies.
        services.TryAddSingleton(sp => new ResourceLoader(sp.GetRequiredService<Storage.IRegistryStore>(), sp.GetService<IRoutingPolicySource>() ?? new NoRoutingPolicies()));
        services.TryAddSingleton<ResourceCache>();
        services.TryAddSingleton<IResourceWatch>(sp => sp.GetRequiredService<ResourceCache>());
        services.AddHostedService(sp => sp.GetRequiredService<ResourceCache>());
        services.TryAddSingleton<StreamRegistry>();
        services.TryAddSingleton<IDataplaneStreams>(sp => sp.GetRequiredService<StreamRegistry>());
        services.TryAddSingleton<StreamServices>();
        services.TryAddSingleton<DiscoveryService>();
        return services;
    }

    /// <summary>
    /// Serves controlplane.v1.DiscoveryService (gRPC only: it has no REST mapping), with its own message
    /// limits (<see cref="DiscoveryOptions.MaxResponseBytes"/>, <see cref="DiscoveryOptions.MaxRequestBytes"/>).
    /// </summary>
    public static IEndpointConventionBuilder MapDiscovery(this IEndpointRouteBuilder endpoints)
    {
        var options = endpoints.ServiceProvider.GetRequiredService<DiscoveryOptions>();
        return endpoints.MapGrpcService<DiscoveryService>(DiscoveryReflection.Descriptor.Services[0], grpc =>
        {
            grpc.MaxSendMessageSize = options.MaxResponseBytes;
            grpc.MaxReceiveMessageSize = options.MaxRequestBytes;
        });
    }
}
