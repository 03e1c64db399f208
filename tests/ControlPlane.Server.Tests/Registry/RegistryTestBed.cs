using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Registry;

/// <summary>The registry as the host wires it, on the embedded store and virtual time.</summary>
internal sealed class RegistryTestBed : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private RegistryTestBed(ServiceProvider services, ManualTimeProvider clock, TestLogSink logs)
    {
        _services = services;
        Clock = clock;
        Logs = logs;
        Registry = services.GetRequiredService<ServiceRegistry>();
        Store = services.GetRequiredService<IRegistryStore>();
        Expiry = services.GetRequiredService<ExpiryScheduler>();
        Changes = services.GetRequiredService<Server.Resources.ResourceChanges>();
    }

    public Server.Resources.ResourceChanges Changes { get; }

    public ManualTimeProvider Clock { get; }

    public TestLogSink Logs { get; }

    public ServiceRegistry Registry { get; }

    public IRegistryStore Store { get; }

    public ExpiryScheduler Expiry { get; }

    public static async Task<RegistryTestBed> StartAsync(Action<RegistryOptions>? configure = null)
    {
        var clock = new ManualTimeProvider();
        var logs = new TestLogSink();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddSingleton<TimeProvider>(clock)
            .AddRegistry(new ConfigurationBuilder().Build(), configure)
            .BuildServiceProvider();
        var bed = new RegistryTestBed(services, clock, logs);
        await bed.Expiry.StartAsync(CancellationToken.None).DefaultTimeout();
        return bed;
    }

    public static RegisterRequest Instance(string id, int port = 0, string name = "video-svc", string image = "img.video.svc", int ttl = 30) => new()
    {
        Name = name,
        Image = image,
        InstanceId = id,
        Host = "10.0.0.1",
        Port = port == 0 ? PortOf(id) : port,
        Region = "eu-central",
        Metadata = Struct.Parser.ParseJson("{\"weight\": 2}"),
        TtlSeconds = ttl,
    };

    /// <summary>
    /// A port derived from the id the same way in every process (string.GetHashCode is randomized per
    /// process, which once gave two ids of one test the same port): an instance registered again keeps
    /// its port, and the ids the tests use do not collide.
    /// </summary>
    public static int PortOf(string id)
    {
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(id))
        {
            hash = (hash ^ b) * 16777619u;
        }
        return 10_000 + (int)(hash % 50_000);
    }

    public Task<RegisterResponse> RegisterAsync(RegisterRequest request) => Registry.RegisterAsync(request).DefaultTimeout();

    public async Task<string?> StatusOfAsync(string id) => (await Store.GetAsync(id))?.Status switch
    {
        null => null,
        var s => InstanceMappingNames(s.Value),
    };

    public async Task BeatAsync(params string[] ids)
    {
        var request = new HeartbeatStreamRequest { BeatId = 1 };
        request.InstanceIds.AddRange(ids);
        var response = await Registry.BeatAsync(request).DefaultTimeout();
        Assert.All(response.Results, r => Assert.Equal(HeartbeatOutcome.Renewed, r.Outcome));
    }

    private static string InstanceMappingNames(InstanceStatus status) => status switch
    {
        InstanceStatus.Healthy => "healthy",
        InstanceStatus.Draining => "draining",
        _ => "expired",
    };

    public static async Task<RpcException> FailsAsync(Func<Task> call)
    {
        return await Assert.ThrowsAsync<RpcException>(call).DefaultTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        await Expiry.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
    }
}
