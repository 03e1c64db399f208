using System.Net;
using ControlPlane.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// The two servers under test, in this process, configured alike: Kestrel on a loopback port,
/// HTTP/2 only (h2c prior knowledge), no logging. One serves <see cref="BenchHandler"/> through
/// our runtime, the other <see cref="RawGrpcEndpoints"/>.
/// </summary>
internal sealed class BenchmarkServers : IAsyncDisposable
{
    private static readonly TimeSpan StartStopTimeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _ours;
    private readonly WebApplication _raw;

    private BenchmarkServers(WebApplication ours, Uri oursAddress, WebApplication raw, Uri rawAddress)
    {
        _ours = ours;
        _raw = raw;
        Ours = oursAddress;
        Raw = rawAddress;
    }

    public Uri Ours { get; }

    public Uri Raw { get; }

    public static async Task<BenchmarkServers> StartAsync(CancellationToken cancellationToken)
    {
        var (ours, oursAddress) = await StartAsync(
            services => services.AddGrpcServer(),
            app => app.MapGrpcService<BenchHandler>(GrpcFrames.Service),
            cancellationToken);
        try
        {
            var (raw, rawAddress) = await StartAsync(services => services.AddRouting(), RawGrpcEndpoints.Map, cancellationToken);
            return new BenchmarkServers(ours, oursAddress, raw, rawAddress);
        }
        catch
        {
            await ours.DisposeAsync();
            throw;
        }
    }

    private static async Task<(WebApplication App, Uri Address)> StartAsync(
        Action<IServiceCollection> configureServices, Action<WebApplication> map, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            // Streams outlive Kestrel's 30 MB body limit; our runtime lifts it per call, the raw
            // endpoints would need to as well, so both servers lift it here.
            kestrel.Limits.MaxRequestBodySize = null;
        });
        configureServices(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync(cancellationToken).WaitAsync(StartStopTimeout, cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in new[] { _ours, _raw })
        {
            try
            {
                await app.StopAsync().WaitAsync(StartStopTimeout);
            }
            catch (TimeoutException)
            {
                Console.Error.WriteLine("A benchmark server did not stop in time.");
            }
            await app.DisposeAsync();
        }
    }
}
