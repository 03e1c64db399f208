using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Stats;
using ControlPlane.Server.Tests.Ops;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// The control-plane host as the README runs it (gRPC on one port, REST on the other), on free
/// loopback ports and virtual time, so windows move only when a test advances the clock.
/// </summary>
internal sealed class StatsHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private StatsHost(WebApplication app, ManualTimeProvider clock, JsonLogCapture logs)
    {
        _app = app;
        Clock = clock;
        Logs = logs;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        // No client-side size limit: tests send what a hostile node would, and the server must refuse it.
        Channel = GrpcChannel.ForAddress(new Uri(addresses[0]), new GrpcChannelOptions { MaxSendMessageSize = int.MaxValue });
        Http = new HttpClient { BaseAddress = new Uri(addresses[1]) };
    }

    public ManualTimeProvider Clock { get; }

    public GrpcChannel Channel { get; }

    /// <summary>The REST port, as curl would call it.</summary>
    public HttpClient Http { get; }

    public JsonLogCapture Logs { get; }

    public IServiceProvider Services => _app.Services;

    public ILoadStore Store => Services.GetRequiredService<ILoadStore>();

    public static async Task<StatsHost> StartAsync(DataplaneToken? token = null, params string[] args)
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.Zero));
        var logs = new JsonLogCapture();
        var app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None",
                "--ControlPlane:Discovery:ControlPlaneId=cp-stats", .. args],
            builder =>
            {
                builder.Logging.AddProvider(logs);
                builder.Services.AddSingleton<TimeProvider>(clock);
                if (token is not null)
                {
                    builder.Services.AddSingleton(token);
                }
            });
        await app.StartAsync().DefaultTimeout();
        return new StatsHost(app, clock, logs);
    }

    public ReportStream OpenReportStream(string nodeId = "node-1", string? token = null) => new(Channel, nodeId, token);

    /// <summary>The Prometheus text of /metrics.</summary>
    public Task<string> MetricsAsync() => Http.GetStringAsync("/metrics").DefaultTimeout();

    /// <summary>Stops at once: a graceful stop waits for nothing, because report streams end on shutdown.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync().DefaultTimeout();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Http.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
        Assert.Empty(Logs.Entries.Where(e => e.GetProperty("level").GetString() is "error" or "critical").Select(e => e.ToString()));
    }
}
