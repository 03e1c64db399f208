using ControlPlane.Grpc.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Ops;

/// <summary>The control-plane host as the README runs it, on free loopback ports, its logs captured as JSON lines.</summary>
internal sealed class ControlPlaneFixture : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ControlPlaneFixture(WebApplication app, JsonLogCapture logs)
    {
        _app = app;
        Logs = logs;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        Grpc = new Uri(addresses[0]);
        Http = new Uri(addresses[1]);
    }

    public Uri Grpc { get; }

    public Uri Http { get; }

    public JsonLogCapture Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static Task<ControlPlaneFixture> StartAsync(params string[] args) => StartAsync(null, args);

    public static Task<ControlPlaneFixture> StartWithStoreAsync(Server.Storage.IRegistryStore store, params string[] args) =>
        StartAsync(services => services.AddSingleton(store), args);

    /// <summary>The host with this platform token, as if PLATFORM_TOKEN held it (without touching the process environment).</summary>
    public static Task<ControlPlaneFixture> StartWithTokenAsync(string token, params string[] args) =>
        StartAsync(services => services.AddSingleton(Server.Auth.PlatformToken.FromValue(token)), args);

    /// <summary>The host with services of the test's (a clock, a store ...) registered before the host's own.</summary>
    public static Task<ControlPlaneFixture> StartWithServicesAsync(Action<IServiceCollection> services, params string[] args) => StartAsync(services, args);

    private static async Task<ControlPlaneFixture> StartAsync(Action<IServiceCollection>? services, string[] args)
    {
        var logs = new JsonLogCapture();
        var app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=Warning", .. args],
            builder =>
            {
                builder.Logging.AddProvider(logs);
                services?.Invoke(builder.Services);
            });
        await app.StartAsync().DefaultTimeout();
        return new ControlPlaneFixture(app, logs);
    }

    public GrpcChannel CreateChannel() => GrpcChannel.ForAddress(Grpc);

    public HttpClient CreateHttpClient() => new() { BaseAddress = Http };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
