using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Discovery.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Stats;

public static class StatsServiceCollectionExtensions
{
    /// <summary>
    /// Load reports and the stats queries on the embedded store unless another
    /// <see cref="ILoadStore"/> is registered first. ReportLoad is dataplane_only: the dataplane
    /// token interceptor is added (once) as for the discovery streams. Answers carry the
    /// replica id of <see cref="DiscoveryOptions.ControlPlaneId"/> when discovery is added too.
    /// </summary>
    public static IServiceCollection AddStats(this IServiceCollection services, IConfiguration configuration, Action<StatsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(StatsOptions)))
        {
            return services;
        }
        var options = configuration.GetSection(StatsOptions.Section).Get<StatsOptions>() ?? new StatsOptions();
        configure?.Invoke(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddDataplaneAuth();
        services.TryAddSingleton<ILoadStore, InMemoryLoadStore>();
        services.TryAddSingleton<StatsMetrics>();
        services.TryAddSingleton<StatsReader>();
        services.TryAddSingleton<StatsService>();
        services.TryAddSingleton(sp => new LoadReportService(
            sp.GetRequiredService<ILoadStore>(),
            options,
            sp.GetRequiredService<StatsMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LoadReportService>>(),
            (sp.GetService<DiscoveryOptions>() ?? new DiscoveryOptions()).ResolveControlPlaneId(),
            sp.GetService<IHostApplicationLifetime>()));
        return services;
    }

    /// <summary>Serves controlplane.v1.LoadReportService (gRPC only) and StatsService (gRPC and REST).</summary>
    public static IEndpointRouteBuilder MapStats(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<LoadReportService>(LoadReportReflection.Descriptor.Services[0]);
        endpoints.MapGrpcService<StatsService>(StatsReflection.Descriptor.Services[0]);
        return endpoints;
    }
}
