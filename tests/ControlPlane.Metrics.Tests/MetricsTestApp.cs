using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Metrics.Tests;

/// <summary>A real Kestrel app (HTTP/1.1, loopback, free port) exporting its metrics on /metrics.</summary>
internal sealed class MetricsTestApp : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsTestApp(WebApplication app, Uri address, TestLogSink logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
    }

    public Uri Address { get; }

    public TestLogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<MetricsTestApp> StartAsync(Action<WebApplication>? map = null, Action<PrometheusMetricsOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        var logs = new TestLogSink();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddPrometheusMetrics(configure);
        var app = builder.Build();
        map?.Invoke(app);
        app.MapPrometheusMetrics();
        await app.StartAsync().DefaultTimeout();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new MetricsTestApp(app, new Uri(address), logs);
    }

    /// <summary>
    /// One connection, used in turn: Kestrel finishes a request (and records its metrics) before it
    /// reads the next one on that connection, so a scrape sees every request sent before it.
    /// </summary>
    public HttpClient CreateClient(bool decompress = true) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            AutomaticDecompression = decompress ? System.Net.DecompressionMethods.GZip : System.Net.DecompressionMethods.None,
        })
        {
            BaseAddress = Address,
        };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
