using ControlPlane.Hosting;
using ControlPlane.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Sdk.ServiceContract;

/// <summary>
/// The standard contract of services built with the SDK (mission.md, "Operating agents"):
/// <c>/health</c> <c>{status, version, uptime_s}</c>, <c>/ready</c> (every registered
/// <see cref="IReadinessCheck"/>: 200 <c>{"status":"ok","checks":{...}}</c>, else 503 with
/// <c>"not_ready"</c> and why), <c>/metrics</c> (Prometheus text, lib/ControlPlane.Metrics) and
/// <c>/version</c> <c>{name, version, git_sha, build_time, started_at}</c> (lib/ControlPlane.Hosting).
/// </summary>
public static class AgentServiceContractExtensions
{
    /// <summary>Registers what the contract's endpoints need (the metrics collector, options).</summary>
    public static IServiceCollection AddAgentServiceContract(this IServiceCollection services, Action<AgentServiceContractOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AgentServiceContractOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.AddPrometheusMetrics();
        return services;
    }

    /// <summary>Adds a readiness check that asks the control plane's gRPC health service (needs <see cref="ControlPlaneClientServiceCollectionExtensions.AddControlPlaneClient"/>).</summary>
    public static IServiceCollection AddControlPlaneReadinessCheck(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IReadinessCheck, ControlPlaneReadinessCheck>());
        return services;
    }

    /// <summary>Maps <c>/health</c>, <c>/ready</c>, <c>/metrics</c> and <c>/version</c>; add <see cref="RequestIdMiddleware"/> with <c>app.UseMiddleware</c> for <c>X-Request-ID</c>.</summary>
    public static IEndpointRouteBuilder MapAgentServiceContract(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetService<IOptions<AgentServiceContractOptions>>()?.Value
            ?? throw new InvalidOperationException("Call services.AddAgentServiceContract() before mapping the contract's endpoints.");
        ServiceContractEndpoints.Map(endpoints, options);
        return endpoints;
    }
}
