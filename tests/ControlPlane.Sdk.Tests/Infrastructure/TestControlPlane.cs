using ControlPlane.Grpc.Server;
using ControlPlane.Sdk.Registration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Tests.Infrastructure;

/// <summary>
/// The real control-plane host on free loopback ports, in process, as the README runs it: its logs
/// captured as JSON lines, every call seen by a <see cref="CallRecorder"/> (which can also inject
/// faults), optionally on virtual time and with a platform token.
/// </summary>
internal sealed class TestControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestControlPlane(WebApplication app, JsonLogCapture logs, CallRecorder calls)
    {
        _app = app;
        Logs = logs;
        Calls = calls;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        Grpc = new Uri(addresses[0]);
        Http = new Uri(addresses[1]);
    }

    public Uri Grpc { get; }

    public Uri Http { get; }

    public JsonLogCapture Logs { get; }

    public CallRecorder Calls { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<TestControlPlane> StartAsync(string? platformToken = null, TimeProvider? time = null, params string[] args)
    {
        var logs = new JsonLogCapture();
        var calls = new CallRecorder();
        var app = Server.ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None", .. args],
            builder =>
            {
                builder.Logging.AddProvider(logs);
                builder.Services.AddSingleton(calls);
                // Outermost: sees (and can refuse) every call before the host's own interceptors.
                builder.Services.AddGrpcServer(grpc => grpc.Interceptors.Insert(0, typeof(CallRecorder.Interceptor)));
                if (platformToken is not null)
                {
                    builder.Services.AddSingleton(Server.Auth.PlatformToken.FromValue(platformToken));
                }
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            });
        await app.StartAsync().DefaultTimeout();
        return new TestControlPlane(app, logs, calls);
    }

    /// <summary>A client of this host; <paramref name="configure"/> adjusts the options (addresses are set already).</summary>
    public ControlPlaneClient CreateClient(Action<ControlPlaneClientOptions>? configure = null, TimeProvider? time = null, ILoggerFactory? loggers = null, Func<string, string?>? environment = null)
    {
        var options = new ControlPlaneClientOptions { Retry = { InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(20) } };
        options.Addresses.Add(Grpc);
        configure?.Invoke(options);
        return ControlPlaneClient.Create(options, time, loggers, random: null, getVariable: environment ?? (_ => null));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
