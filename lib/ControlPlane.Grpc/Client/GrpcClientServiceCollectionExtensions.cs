using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Client;

/// <summary>Settings of a client registered with <see cref="GrpcClientServiceCollectionExtensions.AddGrpcClient{TClient}"/>.</summary>
public sealed class GrpcClientFactoryOptions
{
    public Uri? Address { get; set; }

    public GrpcChannelOptions ChannelOptions { get; set; } = new();
}

public static class GrpcClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TClient"/> (a class taking a <see cref="GrpcChannel"/> in its
    /// constructor) as a transient service whose channel sends through an IHttpClientFactory
    /// handler pipeline named after the client: handlers are pooled and rotated by the factory,
    /// and delegating handlers can be added on the returned builder.
    /// </summary>
    public static IHttpClientBuilder AddGrpcClient<TClient>(this IServiceCollection services, Action<GrpcClientFactoryOptions> configure)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var name = typeof(TClient).FullName!;
        services.AddOptions<GrpcClientFactoryOptions>(name).Configure(configure);
        var builder = services.AddHttpClient(name)
            .ConfigurePrimaryHttpMessageHandler(sp =>
                GrpcChannel.CreateHandler(sp.GetRequiredService<IOptionsMonitor<GrpcClientFactoryOptions>>().Get(name).ChannelOptions));
        services.AddTransient(sp =>
        {
            var options = sp.GetRequiredService<IOptionsMonitor<GrpcClientFactoryOptions>>().Get(name);
            var address = options.Address ?? throw new InvalidOperationException($"No address configured for gRPC client {name}.");
            var handler = sp.GetRequiredService<IHttpMessageHandlerFactory>().CreateHandler(name);
            var channel = GrpcChannel.ForInvoker(address, options.ChannelOptions, new HttpMessageInvoker(handler, disposeHandler: false));
            return ActivatorUtilities.CreateInstance<TClient>(sp, channel);
        });
        return builder;
    }
}
