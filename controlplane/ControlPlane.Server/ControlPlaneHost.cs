using ControlPlane.Hosting;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Metrics;
using ControlPlane.Grpc.Transcoding;
using ControlPlane.Metrics;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Billing;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Fleet;
using ControlPlane.Server.Ops;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Replication;
using ControlPlane.Server.Routing;
using ControlPlane.Server.Stats;
using ControlPlane.Server.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Server;

/// <summary>Builds the control-plane web application: listeners, the gRPC runtime, services, ops endpoints.</summary>
public static class ControlPlaneHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        var options = builder.Configuration.GetSection(ControlPlaneOptions.Section).Get<ControlPlaneOptions>() ?? new ControlPlaneOptions();
        builder.Services.AddSingleton(options);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxStreamsPerConnection;
            // gRPC bounds metadata by size (MaxRequestHeadersTotalSize, 32 KB, still applies), not by
            // count: Kestrel's default of 100 fields refused calls with about 95 small entries (431).
            kestrel.Limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
            // On HTTP/2 Kestrel enforces its minimum response data rate per connection and only server-wide:
            // one discovery stream whose node stopped reading would cut off every node multiplexed beside it.
            // Flow control bounds what such a stream holds, and the discovery service closes it alone
            // (StuckStreamTimeout). HTTP/1.1 requests keep the default (RestoreResponseDataRate).
            kestrel.Limits.MinResponseDataRate = null;
            var address = IPAddress.Parse(options.BindAddress);
            var certificate = LoadCertificate(options);
            kestrel.Listen(address, options.GrpcPort, listen =>
            {
                if (certificate is null)
                {
                    // Kestrel speaks h2c only on an HTTP/2-only endpoint (grpcurl -plaintext, buf curl --http2-prior-knowledge).
                    listen.Protocols = HttpProtocols.Http2;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
            kestrel.Listen(address, options.HttpPort, listen =>
            {
                listen.Protocols = certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });

        HostLogging.UseJsonLines(builder);
        // TryAdd: a token registered by the configure callback (tests) wins over the environment's.
        builder.Services.TryAddSingleton(_ => PlatformToken.FromEnvironment());
        builder.Services.AddStores(builder.Configuration);
        builder.Services.AddReplication(builder.Configuration);
        builder.Services.AddRegistry(builder.Configuration);
        builder.Services.AddPolicies();
        builder.Services.AddRoutePreview();
        builder.Services.AddDiscovery(builder.Configuration);
        builder.Services.AddFleetView(builder.Configuration);
        builder.Services.AddStats(builder.Configuration);
        builder.Services.AddBilling();
        builder.Services.AddPrometheusMetrics();
        // Every method with a google.api.http rule is also served as REST, through the same interceptors.
        builder.Services.AddGrpcJsonTranscoding(o => o.InvalidRequestReason = static m => m.GetOptions()?.GetExtension(ControlPlane.Api.V1.OptionsExtensions.InvalidRequestReason));
        builder.Services.AddGrpcServer(grpc =>
        {
            grpc.EnableDetailedErrors = options.DetailedErrors;
            // Outermost first: refused calls are still measured.
            grpc.AddInterceptor<RpcMetricsInterceptor>();
            grpc.AddInterceptor<StoreUnavailableInterceptor>();
            grpc.AddInterceptor<AdminAuthInterceptor>();
        });

        var app = builder.Build();
        app.Use(RestoreResponseDataRate);
        app.UseMiddleware<RequestIdMiddleware>();
        if (app.Services.GetService<Storage.Redis.StoreMirror>() is not null)
        {
            // On a shared store, reads answered from memory while it is unreachable say so.
            app.Use(MemoryReads.Middleware);
        }
        // The REST port answers in JSON also where routing answers alone (unknown path, 405) and takes OPTIONS.
        app.UseJsonTranscodingFallbacks();
        app.MapGrpcHealthService();
        app.MapGrpcReflectionService();
        app.MapGrpcService<RegistryService>(ControlPlane.Api.V1.RegistryReflection.Descriptor.Services[0]);
        app.MapGrpcService<PolicyService>(ControlPlane.Api.V1.PolicyReflection.Descriptor.Services[0]);
        app.MapGrpcService<RouteService>(ControlPlane.Api.V1.RouteReflection.Descriptor.Services[0]);
        app.MapDiscovery();
        app.MapGrpcService<DataplaneService>(ControlPlane.Api.V1.DataplanesReflection.Descriptor.Services[0]);
        app.MapStats();
        app.MapBilling();
        OpsEndpoints.Map(app);
        app.MapPrometheusMetrics().WithHead();
        return app;
    }

    /// <summary>Kestrel's default minimum response data rate, which HTTP/1.1 requests keep.</summary>
    private static readonly MinDataRate Http1MinResponseDataRate = new(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));

    /// <summary>
    /// Gives an HTTP/1.1 request back Kestrel's default minimum response data rate (the server-wide one is
    /// off for HTTP/2's sake): a client reading its response too slowly there holds only its own connection.
    /// HTTP/2 requests have no per-request rate.
    /// </summary>
    private static Task RestoreResponseDataRate(HttpContext http, RequestDelegate next)
    {
        if (http.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = Http1MinResponseDataRate;
        }
        return next(http);
    }

    /// <summary>Request header fields per request: enough that the 32 KB size limit binds first (a field costs at least about 30 bytes).</summary>
    internal const int MaxRequestHeaderCount = 1000;

    private static X509Certificate2? LoadCertificate(ControlPlaneOptions options)
    {
        if (string.IsNullOrEmpty(options.TlsCertificatePath))
        {
            return null;
        }
        var password = Environment.GetEnvironmentVariable(options.TlsCertificatePasswordVariable);
        return X509CertificateLoader.LoadPkcs12FromFile(options.TlsCertificatePath, password);
    }
}
