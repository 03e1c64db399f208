using ControlPlane.Grpc.Protocol;
using ControlPlane.Grpc.Server.Internal;
using ControlPlane.Grpc.Transcoding.Internal;
using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Server;

public static class GrpcServerExtensions
{
    /// <summary>Adds the gRPC server runtime (options, the service registry, health and reflection services).</summary>
    public static IServiceCollection AddGrpcServer(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRouting();
        services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.TryAddEnumerable(Microsoft.Extensions.DependencyInjection.ServiceDescriptor.Singleton<Microsoft.AspNetCore.Hosting.IStartupFilter, UnimplementedStartupFilter>());
        services.TryAddSingleton<Health.HealthStatusRegistry>();
        services.TryAddSingleton<Health.HealthService>();
        services.TryAddSingleton<Reflection.ReflectionServiceV1>();
        services.TryAddSingleton<Reflection.ReflectionServiceV1Alpha>();
        return services;
    }

    /// <summary>
    /// Serves every method of <paramref name="service"/> with the same-named public methods of
    /// <typeparamref name="THandler"/>. Throws at startup when any method lacks a well-typed handler.
    /// After <c>AddGrpcJsonTranscoding</c>, methods with a <c>google.api.http</c> rule are served as REST too.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService<THandler>(this IEndpointRouteBuilder endpoints, ServiceDescriptor service)
        where THandler : class => endpoints.MapGrpcService<THandler>(service, configure: null);

    /// <summary>
    /// As <see cref="MapGrpcService{THandler}(IEndpointRouteBuilder, ServiceDescriptor)"/>, with this
    /// service's own copy of the server options, changed by <paramref name="configure"/> (for example
    /// larger message limits for one service, as grpc-dotnet's AddServiceOptions gives).
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcService<THandler>(this IEndpointRouteBuilder endpoints, ServiceDescriptor service, Action<GrpcServerOptions>? configure)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(service);
        var sp = endpoints.ServiceProvider;
        var registry = sp.GetService<GrpcServiceRegistry>()
            ?? throw new InvalidOperationException("Call services.AddGrpcServer() before mapping gRPC services.");
        var options = sp.GetRequiredService<IOptions<GrpcServerOptions>>().Value;
        if (configure is not null)
        {
            options = options.Copy();
            configure(options);
        }
        var methods = ServiceBinder.Bind<THandler>(service, sp, options);
        // With AddGrpcJsonTranscoding, the google.api.http rules are checked here too, before anything is mapped.
        var transcoding = sp.GetService<TranscodingEndpointMapper>();
        var httpRules = transcoding?.Plan(service);
        registry.Add(service);

        var builders = new List<IEndpointConventionBuilder>();
        foreach (var method in methods)
        {
            builders.Add(endpoints.MapPost(method.Path, method.Handler)
                .WithDisplayName("gRPC " + method.Method.FullName)
                .WithMetadata(method.Method));
        }
        if (transcoding is not null)
        {
            builders.AddRange(transcoding.Map(endpoints, service, methods, httpRules!));
        }
        return new CompositeConventionBuilder(builders);
    }

    /// <summary>The standard grpc.health.v1.Health service.</summary>
    public static IEndpointConventionBuilder MapGrpcHealthService(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        // Stopping: NOT_SERVING for good, and every Watch ended (HealthStatusRegistry.EnterTerminalState).
        var health = endpoints.ServiceProvider.GetRequiredService<Health.HealthStatusRegistry>();
        endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopping.Register(health.EnterTerminalState);
        return endpoints.MapGrpcService<Health.HealthService>(global::Grpc.Health.V1.HealthReflection.Descriptor.Services[0]);
    }

    /// <summary>Server reflection, both grpc.reflection.v1 and v1alpha (older grpcurl builds ask v1alpha).</summary>
    public static IEndpointConventionBuilder MapGrpcReflectionService(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGrpcService<Reflection.ReflectionServiceV1>(global::Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0]);
        var v1Alpha = endpoints.MapGrpcService<Reflection.ReflectionServiceV1Alpha>(global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0]);
        return new CompositeConventionBuilder([v1, v1Alpha]);
    }

    private sealed class CompositeConventionBuilder(IReadOnlyList<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var b in builders)
            {
                b.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var b in builders)
            {
                b.Finally(finallyConvention);
            }
        }
    }
}
