using ControlPlane.Benchmarks.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Server;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>
/// The control plane as it runs (<see cref="ControlPlaneHost"/>: Kestrel h2c on a loopback port, its
/// middleware, interceptors and embedded store), in this process, with the baseline service mapped
/// beside the registry so that both are served by the same listener, pipeline and thread pool.
/// </summary>
internal sealed class RegistryHost : IAsyncDisposable
{
    private static readonly TimeSpan StartStopTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private RegistryHost(WebApplication app, Uri grpc)
    {
        _app = app;
        Grpc = grpc;
        Registry = app.Services.GetRequiredService<ServiceRegistry>();
        Store = app.Services.GetRequiredService<IRegistryStore>();
        Baseline = app.Services.GetRequiredService<RegistryBaselineHandler>();
    }

    /// <summary>The gRPC listener (h2c).</summary>
    public Uri Grpc { get; }

    public ServiceRegistry Registry { get; }

    public IRegistryStore Store { get; }

    public RegistryBaselineHandler Baseline { get; }

    public static async Task<RegistryHost> StartAsync(CancellationToken cancellationToken)
    {
        var app = ControlPlaneHost.Build(
        [
            "--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1",
            // At Information the host writes a JSON line per registration: that, not the registry, would be measured.
            "--Logging:LogLevel:Default=Warning",
            // The content root is the working directory (the repository, where others build): watch no files.
            "--hostBuilder:reloadConfigOnChange=false",
        ],
        // Registered like RegistryService, so both handlers are activated the same way on every call.
        builder => builder.Services.AddSingleton<RegistryBaselineHandler>());
        try
        {
            app.MapGrpcService<RegistryBaselineHandler>(RegistryBaselineReflection.Descriptor.Services[0]);
            await app.StartAsync(cancellationToken).WaitAsync(StartStopTimeout, cancellationToken);
            // Listeners are created gRPC first, then REST/ops.
            var grpc = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new RegistryHost(app, new Uri(grpc));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().WaitAsync(StartStopTimeout);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine("The control-plane host did not stop in time.");
        }
        await _app.DisposeAsync();
    }
}
