using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Fleet;
using ControlPlane.Server.Registry;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// A real Kestrel server with the registry and discovery services as the host wires them, on virtual
/// time (debounce off unless a test sets it, so each change is pushed at once), and one shared channel.
/// </summary>
internal sealed class DiscoveryHost : IAsyncDisposable
{
    private readonly GrpcTestServer _server;

    private DiscoveryHost(GrpcTestServer server, ManualTimeProvider clock)
    {
        _server = server;
        Clock = clock;
        Channel = server.CreateChannel();
    }

    public ManualTimeProvider Clock { get; }

    public GrpcChannel Channel { get; }

    public TestLogSink Logs => _server.Logs;

    public IServiceProvider Services => _server.Services;

    public ServiceRegistry Registry => Services.GetRequiredService<ServiceRegistry>();

    public IResourceWatch Cache => Services.GetRequiredService<IResourceWatch>();

    public IDataplaneStreams Streams => Services.GetRequiredService<IDataplaneStreams>();

    public FleetView Fleet => Services.GetRequiredService<FleetView>();

    public static async Task<DiscoveryHost> StartAsync(
        Action<DiscoveryOptions>? configure = null,
        DataplaneToken? token = null,
        IRoutingPolicySource? policies = null,
        int maxStreamsPerConnection = 100)
    {
        var clock = new ManualTimeProvider();
        var configuration = new ConfigurationBuilder().Build();
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureKestrel = k => k.Limits.Http2.MaxStreamsPerConnection = maxStreamsPerConnection,
            ConfigureServices = services =>
            {
                services.AddSingleton<TimeProvider>(clock);
                if (token is not null)
                {
                    services.AddSingleton(token);
                }
                if (policies is not null)
                {
                    services.AddSingleton(policies);
                }
                services.AddRegistry(configuration);
                services.AddDiscovery(configuration, o =>
                {
                    o.DebounceWindow = TimeSpan.Zero;
                    o.ControlPlaneId = "cp-test";
                    configure?.Invoke(o);
                });
                services.AddFleetView(configuration);
            },
            Map = app =>
            {
                app.MapGrpcService<RegistryService>(RegistryReflection.Descriptor.Services[0]);
                app.MapDiscovery();
                app.MapGrpcService<ControlPlane.Server.Fleet.DataplaneService>(DataplanesReflection.Descriptor.Services[0]);
            },
        });
        var host = new DiscoveryHost(server, clock);
        await host.Cache.WhenWarm.DefaultTimeout();
        return host;
    }

    /// <summary>
    /// Registers an instance (a long lease, so advancing virtual time does not expire it) and, unless
    /// told otherwise, waits until the cache holds the endpoint set with it.
    /// </summary>
    public async Task<RegisterResponse> RegisterAsync(string id, string image, int port, string? metadataJson = null, bool waitForCache = true)
    {
        var response = await Registry.RegisterAsync(new RegisterRequest
        {
            InstanceId = id,
            Name = "svc-" + image,
            Image = image,
            Host = "10.0.0.1",
            Port = port,
            Region = "eu-central",
            Metadata = metadataJson is null ? null : Struct.Parser.ParseJson(metadataJson),
            TtlSeconds = 3600,
        }).DefaultTimeout();
        if (waitForCache)
        {
            await WaitForCacheAsync(c => EndpointsOf(c, image)?.Endpoints.Any(e => e.InstanceId == id && e.Port == port) == true, $"{id} in {image}");
        }
        return response;
    }

    /// <summary>Deregisters an instance and waits until the cache no longer has it.</summary>
    public async Task DeregisterAsync(string id)
    {
        var record = await Services.GetRequiredService<ControlPlane.Server.Storage.IRegistryStore>().GetAsync(id).DefaultTimeout();
        await Registry.DeregisterAsync(new DeregisterRequest { InstanceId = id }).DefaultTimeout();
        if (record is not null)
        {
            await WaitForCacheAsync(c => EndpointsOf(c, record.Spec.Image)?.Endpoints.Any(e => e.InstanceId == id) != true, $"{id} gone from {record.Spec.Image}");
        }
    }

    /// <summary>The cache's endpoint set of <paramref name="image"/>, decoded, or null.</summary>
    public static EndpointSet? EndpointsOf(IResourceWatch cache, string image) =>
        cache.Snapshot(ControlPlane.Server.Resources.ResourceTypes.EndpointSet).Find(image) is { } r ? EndpointSet.Parser.ParseFrom(r.Wire.Resource_.Value) : null;

    /// <summary>The version the cache holds for <paramref name="name"/>, or null.</summary>
    public string? VersionOf(string typeUrl, string name) => Cache.Snapshot(typeUrl).Find(name)?.Version;

    /// <summary>Waits until the cache satisfies <paramref name="condition"/>, re-checking after every applied change.</summary>
    public async Task WaitForCacheAsync(Func<IResourceWatch, bool> condition, string what)
    {
        var changed = new SemaphoreSlim(0);
        using var watch = Cache.Watch(_ => changed.Release());
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (!condition(Cache))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await changed.WaitAsync(left))
            {
                throw new TimeoutException($"Timed out waiting for the cache to hold {what}");
            }
        }
    }

    /// <summary>Waits until the stream registry satisfies <paramref name="condition"/>, re-checking on every stream event.</summary>
    public async Task WaitForStreamsAsync(Func<IDataplaneStreams, bool> condition, string what)
    {
        var changed = new SemaphoreSlim(0);
        void OnChanged(DataplaneStreamEvent e) => changed.Release();
        Streams.Changed += OnChanged;
        try
        {
            var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
            while (!condition(Streams))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await changed.WaitAsync(left))
                {
                    throw new TimeoutException(
                        $"Timed out waiting for {what}; streams: {string.Join("; ", Streams.List().Select(s => $"{s.NodeId}#{s.StreamId} queue={s.QueueDepth} blocked={s.BlockedSince}"))}; "
                        + $"warnings: {string.Join(" | ", Logs.Records.Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Information && !r.Category.StartsWith("Microsoft", StringComparison.Ordinal)).TakeLast(8))}");
                }
                while (changed.Wait(0))
                {
                    // Events that arrived meanwhile are covered by the next check.
                }
            }
        }
        finally
        {
            Streams.Changed -= OnChanged;
        }
    }

    public void AssertNoUnexpectedErrors(Func<TestLogSink.LogRecord, bool>? expected = null) => _server.AssertNoUnexpectedErrors(expected);

    /// <summary>A channel of the test's own, which outlives this host's shared <see cref="Channel"/>.</summary>
    public GrpcChannel CreateChannel(GrpcChannelOptions? options = null) => _server.CreateChannel(options);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _server.DisposeAsync();
    }
}
