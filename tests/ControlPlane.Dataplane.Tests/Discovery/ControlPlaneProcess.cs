using System.Net.Http.Json;
using ControlPlane.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>A real control plane in process on free loopback ports (gRPC first, then REST), as the README runs it.</summary>
public sealed class ControlPlaneProcess : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private ControlPlaneProcess(WebApplication app)
    {
        _app = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
        Grpc = new Uri(addresses[0]);
        Http = new Uri(addresses[1]);
        Client = new HttpClient { BaseAddress = Http };
    }

    public Uri Grpc { get; }

    public Uri Http { get; }

    public HttpClient Client { get; }

    /// <param name="time">The control plane's clock (the system's by default).</param>
    public static async Task<ControlPlaneProcess> StartAsync(TimeProvider? time = null)
    {
        var app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None"],
            builder =>
            {
                builder.Logging.ClearProviders();
                if (time is not null)
                {
                    builder.Services.AddSingleton(time);
                }
            });
        await app.StartAsync().DefaultTimeout();
        return new ControlPlaneProcess(app);
    }

    /// <summary>Registers <paramref name="backend"/> as instance <paramref name="instanceId"/> of <paramref name="image"/> (REST, as the README does).</summary>
    public async Task RegisterAsync(string image, string instanceId, TestBackend backend)
    {
        using var response = await Client.PostAsJsonAsync("/v1/services/register", new
        {
            name = "svc",
            image,
            instance_id = instanceId,
            host = "127.0.0.1",
            port = backend.Port,
            region = "eu-central",
            ttl_seconds = 300,
        }).DefaultTimeout();
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync().DefaultTimeout());
    }

    public async Task DeregisterAsync(string instanceId)
    {
        using var response = await Client.DeleteAsync($"/v1/services/{instanceId}").DefaultTimeout();
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync().DefaultTimeout());
    }

    /// <summary>
    /// Stops at once, aborting open connections as a killed process would (a graceful stop would wait
    /// for the nodes' discovery streams, which the control plane does not end on shutdown).
    /// </summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync(new CancellationToken(canceled: true)).DefaultTimeout();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
    }
}
