using ControlPlane.Hosting;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using ControlPlane.Dataplane.Forwarder;
using ControlPlane.Dataplane.Forwarder.Http1;
using ControlPlane.Dataplane.Health;
using ControlPlane.Dataplane.Ops;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.LoadBalancing;
using ControlPlane.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Dataplane;

/// <summary>
/// Builds the dataplane node: listeners, the edge proxy on <c>/g/{image}/...</c>, ops endpoints.
/// Configuration comes from the registered <see cref="IProxyConfigProvider"/>; by default an
/// <see cref="InMemoryProxyConfigProvider"/> (resolve it from <c>Services</c> to feed it).
/// </summary>
public static class DataplaneHost
{
    /// <param name="args">Command-line arguments (configuration keys such as <c>--Dataplane:HttpPort=0</c>).</param>
    /// <param name="configure">Runs before the node reads its options and registers its services: add configuration, replace services (a provider, a <see cref="TimeProvider"/>).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var options = builder.Configuration.GetSection(DataplaneOptions.Section).Get<DataplaneOptions>() ?? new DataplaneOptions();
        builder.Services.TryAddSingleton(options);
        ConfigureKestrel(builder, options);
        HostLogging.UseJsonLines(builder);
        AddDataplane(builder.Services);
        AddDiscovery(builder);

        var app = builder.Build();
        app.UseMiddleware<RequestIdMiddleware>();
        // The proxy runs before routing: no endpoint matching (nor Map's path rewriting) on the hot path.
        var proxy = app.Services.GetRequiredService<ProxyHandler>();
        app.Use(next => http => ProxyPath.IsProxied(http.Request.Path) ? proxy.InvokeAsync(http) : next(http));
        app.UseRouting();
        OpsEndpoints.Map(app);
        app.MapPrometheusMetrics();
        return app;
    }

    private static void AddDataplane(IServiceCollection services)
    {
        // TryAdd: what the configure callback registered (tests, a discovery client) wins.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(LoadBalancingPolicies.Default);
        services.TryAddSingleton(BalancerOptions.Default);
        services.TryAddSingleton<InMemoryProxyConfigProvider>();
        services.TryAddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<InMemoryProxyConfigProvider>());
        services.AddOptions<ForwarderOptions>().BindConfiguration(ForwarderOptions.Section);
        services.AddOptions<PassiveHealthOptions>().BindConfiguration(PassiveHealthOptions.Section);
        services.TryAddSingleton<UpstreamClient>();
        services.TryAddSingleton<UpstreamCancellation>();
        services.TryAddSingleton<Http1Client>();
        services.TryAddSingleton<Http1Forwarder>();
        services.TryAddSingleton<HttpForwarder>();
        services.TryAddSingleton<LoadRecorder>();
        services.TryAddSingleton<ProxyHandler>();
        services.TryAddSingleton<DataplaneMetrics>();
        // The upstream requests' metrics are the node's own (controlplane_dataplane_upstream_*, per image);
        // HttpClient's http.client.* instruments would record every proxied request a second time, on an
        // allocation-heavy path (its metrics handler runs only while someone listens).
        services.AddPrometheusMetrics(o => o.Meters.Remove("System.Net.Http"));
    }

    private static void AddDiscovery(WebApplicationBuilder builder)
    {
        // Only with control planes to talk to: without, the in-memory provider is fed in code.
        var discovery = builder.Configuration.GetSection(DiscoveryOptions.Section).Get<DiscoveryOptions>() ?? new DiscoveryOptions();
        if (discovery.ControlPlanes.Count == 0)
        {
            return;
        }
        discovery.Validate();
        builder.Services.TryAddSingleton(discovery);
        builder.Services.TryAddSingleton(sp => CreateDiscoveryClient(sp));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DiscoveryClient>());

        // Load reports go to the same control planes. Registered after the discovery client and, like
        // every hosted service, before the server: the server stops first, so the reporter's last
        // interval holds every request answered.
        var reporting = builder.Configuration.GetSection(ReportingOptions.Section).Get<ReportingOptions>() ?? new ReportingOptions();
        if (!reporting.Enabled)
        {
            return;
        }
        reporting.Validate();
        builder.Services.TryAddSingleton(reporting);
        builder.Services.TryAddSingleton(sp => new LoadReporter(
            sp.GetRequiredService<ReportingOptions>(),
            sp.GetRequiredService<DiscoveryOptions>(),
            sp.GetRequiredService<LoadRecorder>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<LoadReporter>>(),
            sp.GetRequiredService<DiscoveryClient>(),
            sp.GetService<Random>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LoadReporter>());
    }

    /// <summary>The node's discovery client from its services; <paramref name="store"/> replaces the last-known-good store the options name (tests).</summary>
    internal static DiscoveryClient CreateDiscoveryClient(IServiceProvider services, LastKnownGoodStore? store = null) => new(
        services.GetRequiredService<DiscoveryOptions>(),
        services.GetRequiredService<InMemoryProxyConfigProvider>(),
        services.GetRequiredService<LoadBalancingPolicies>(),
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<ILogger<DiscoveryClient>>(),
        services.GetService<Random>(),
        services.GetRequiredService<ILoggerFactory>(),
        store);

    private static void ConfigureKestrel(WebApplicationBuilder builder, DataplaneOptions options)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The instance's non-ASCII header bytes go back to the client as they came (HeaderEncodings).
            kestrel.ResponseHeaderEncodingSelector = static _ => HeaderEncodings.Response;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodySize;
            var address = IPAddress.Parse(options.BindAddress);
            var certificate = LoadCertificate(options);
            kestrel.Listen(address, options.HttpPort, listen =>
            {
                if (certificate is null)
                {
                    listen.Protocols = HttpProtocols.Http1;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
            if (certificate is null && options.Http2Port >= 0)
            {
                // Kestrel speaks cleartext HTTP/2 (prior knowledge, what gRPC clients use) only on an HTTP/2-only endpoint.
                kestrel.Listen(address, options.Http2Port, listen => listen.Protocols = HttpProtocols.Http2);
            }
        });
    }

    private static X509Certificate2? LoadCertificate(DataplaneOptions options)
    {
        if (string.IsNullOrEmpty(options.TlsCertificatePath))
        {
            return null;
        }
        var password = Environment.GetEnvironmentVariable(options.TlsCertificatePasswordVariable);
        return X509CertificateLoader.LoadPkcs12FromFile(options.TlsCertificatePath, password);
    }
}
