using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Stats;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// A control-plane replica serving LoadReportService on loopback, on a store the test hands in:
/// replicas given the same store behave as replicas sharing Redis would.
/// </summary>
internal sealed class ReportingServer : IAsyncDisposable
{
    private readonly GrpcTestServer _server;

    private ReportingServer(GrpcTestServer server, ILoadStore store)
    {
        _server = server;
        Store = store;
    }

    public string Address => _server.Address.ToString();

    public ILoadStore Store { get; }

    public TestLogSink Logs => _server.Logs;

    public static async Task<ReportingServer> StartAsync(ILoadStore store, DataplaneToken? token = null, Action<StatsOptions>? configure = null)
    {
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = services =>
            {
                services.AddSingleton(store);
                services.AddSingleton(token ?? DataplaneToken.FromValue(null));
                services.AddStats(new ConfigurationBuilder().Build(), configure);
            },
            Map = app => app.MapStats(),
        });
        return new ReportingServer(server, store);
    }

    /// <summary>An embedded store as the control plane's default, on the system clock.</summary>
    public static ILoadStore NewStore() => new InMemoryLoadStore(new StatsOptions(), TimeProvider.System);

    /// <summary>Requests the store counted for <paramref name="image"/> (every image when null) in the last hour.</summary>
    public static async Task<long> CountedAsync(ILoadStore store, string? image = null)
    {
        var now = DateTimeOffset.UtcNow;
        var totals = await store.SumAsync(LoadScope.Images, now.AddHours(-1), now.AddMinutes(1), image).DefaultTimeout();
        return totals.Sum(t => t.Counts.Requests);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
