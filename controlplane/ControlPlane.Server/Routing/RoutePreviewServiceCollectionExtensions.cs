using ControlPlane.LoadBalancing;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Routing;

public static class RoutePreviewServiceCollectionExtensions
{
    /// <summary>The route preview (named so as not to clash with ASP.NET Core's AddRouting), over the registry's and the policies' stores: call after AddRegistry and AddPolicies.</summary>
    public static IServiceCollection AddRoutePreview(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton(LoadBalancingPolicies.Default);
        services.TryAddSingleton<RouteMetrics>();
        services.TryAddSingleton<RoutePreviewer>();
        services.TryAddSingleton<RouteService>();
        return services;
    }
}
