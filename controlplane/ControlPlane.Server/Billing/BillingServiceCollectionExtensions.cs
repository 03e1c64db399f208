using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Stats;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Billing;

public static class BillingServiceCollectionExtensions
{
    /// <summary>Billing exports over the stats' store: call after <c>AddStats</c>.</summary>
    public static IServiceCollection AddBilling(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(StatsOptions)))
        {
            throw new InvalidOperationException("AddBilling reads the load counts of AddStats: call AddStats first.");
        }
        services.TryAddSingleton<BillingExporter>();
        services.TryAddSingleton<BillingService>();
        return services;
    }

    /// <summary>Serves controlplane.v1.BillingService (gRPC and REST).</summary>
    public static IEndpointConventionBuilder MapBilling(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<BillingService>(BillingReflection.Descriptor.Services[0]);
}
