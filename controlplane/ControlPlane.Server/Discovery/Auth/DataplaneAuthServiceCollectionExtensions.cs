using ControlPlane.Grpc.Server;
using ControlPlane.Server.Auth;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Server.Discovery.Auth;

public static class DataplaneAuthServiceCollectionExtensions
{
    /// <summary>
    /// The dataplane token (from the environment unless one is registered) and its interceptor,
    /// appended once to the gRPC interceptors, for every method marked <c>dataplane_only</c>
    /// (discovery streams, load reports), whichever of them is added first.
    /// </summary>
    public static IServiceCollection AddDataplaneAuth(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp => DataplaneToken.FromEnvironment(sp.GetService<PlatformToken>()));
        services.TryAddSingleton<DataplaneAuthInterceptor>();
        // After every Configure: the metrics interceptor stays outermost, so refused calls are measured too.
        services.PostConfigure<GrpcServerOptions>(grpc =>
        {
            if (!grpc.Interceptors.Contains(typeof(DataplaneAuthInterceptor)))
            {
                grpc.AddInterceptor<DataplaneAuthInterceptor>();
            }
        });
        return services;
    }
}
