using ControlPlane.Metrics.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace ControlPlane.Metrics;

public static class PrometheusMetricsExtensions
{
    /// <summary>
    /// Collects the configured meters' instruments (System.Diagnostics.Metrics) from host start,
    /// for <see cref="MapPrometheusMetrics"/> to serve.
    /// </summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, Action<PrometheusMetricsOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddMetrics();
        services.AddOptions<PrometheusMetricsOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<MetricsCollector>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MetricsCollectorStarter>());
        return services;
    }

    /// <summary>Serves the Prometheus text exposition format (version 0.0.4) on GET <paramref name="pattern"/>.</summary>
    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var collector = endpoints.ServiceProvider.GetService<MetricsCollector>()
            ?? throw new InvalidOperationException("Call services.AddPrometheusMetrics() before mapping the metrics endpoint.");
        return endpoints.MapGet(pattern, http => MetricsEndpoint.WriteAsync(http, collector))
            .WithDisplayName("Prometheus metrics");
    }
}
