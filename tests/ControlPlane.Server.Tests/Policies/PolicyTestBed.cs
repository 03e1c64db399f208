using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Routing;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Registry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>
/// Registry, policies and route preview as the host wires them, on the embedded stores and virtual
/// time, recording every change signal. Disposing fails the test if anything logged an error.
/// </summary>
internal sealed class PolicyTestBed : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private int _nextPort = 9000;

    private PolicyTestBed(ServiceProvider services, ManualTimeProvider clock, TestLogSink logs)
    {
        _services = services;
        Clock = clock;
        Logs = logs;
        Policies = services.GetRequiredService<PolicyRegistry>();
        Store = services.GetRequiredService<IPolicyStore>();
        Registry = services.GetRequiredService<ServiceRegistry>();
        RegistryStore = services.GetRequiredService<IRegistryStore>();
        Expiry = services.GetRequiredService<ExpiryScheduler>();
        Previewer = services.GetRequiredService<RoutePreviewer>();
        services.GetRequiredService<ResourceChanges>().Changed += (type, name, _) =>
        {
            if (type == ResourceTypes.RoutingPolicy)
            {
                lock (PolicySignals)
                {
                    PolicySignals.Add(name);
                }
            }
        };
    }

    public ManualTimeProvider Clock { get; }

    public TestLogSink Logs { get; }

    public PolicyRegistry Policies { get; }

    public IPolicyStore Store { get; }

    public ServiceRegistry Registry { get; }

    public IRegistryStore RegistryStore { get; }

    public ExpiryScheduler Expiry { get; }

    public RoutePreviewer Previewer { get; }

    /// <summary>Images whose RoutingPolicy was signalled as changed, in order.</summary>
    public List<string> PolicySignals { get; } = [];

    public static readonly PolicyCaller Agent = new("lb-policy-agent", "req-1");

    public static async Task<PolicyTestBed> StartAsync(IPolicyStore? store = null, int seed = 1)
    {
        var clock = new ManualTimeProvider();
        var logs = new TestLogSink();
        var services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton(new Random(seed));
        if (store is not null)
        {
            services.AddSingleton(store);
        }
        services.AddRegistry(new ConfigurationBuilder().Build(), o => o.SelfPreservation.Enabled = false).AddPolicies().AddRoutePreview();
        var bed = new PolicyTestBed(services.BuildServiceProvider(), clock, logs);
        await bed.Expiry.StartAsync(CancellationToken.None).DefaultTimeout();
        return bed;
    }

    public static SetPolicyRequest Set(string algorithm, string image = "img.video.svc", string stickyKey = "", params (string Id, int Weight)[] weights)
    {
        var request = new SetPolicyRequest { Image = image, Algorithm = algorithm, StickyKey = stickyKey };
        foreach (var (id, weight) in weights)
        {
            request.Weights[id] = weight;
        }
        return request;
    }

    public Task<SetPolicyResponse> SetAsync(SetPolicyRequest request, PolicyCaller? caller = null) =>
        Policies.SetAsync(request, caller ?? Agent).DefaultTimeout();

    public async Task RegisterAsync(string id, string image = "img.video.svc", string name = "video-svc", int weight = 1, int ttl = 30)
    {
        var request = RegistryTestBed.Instance(id, port: Interlocked.Increment(ref _nextPort), name: name, image: image, ttl: ttl);
        request.Metadata.Fields["weight"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(weight);
        await Registry.RegisterAsync(request).DefaultTimeout();
    }

    public Task DrainAsync(string id) => Registry.DrainAsync(new DrainInstanceRequest { InstanceId = id }).DefaultTimeout();

    public Task<PreviewRouteResponse> PreviewAsync(PreviewRouteRequest request) => Previewer.PreviewAsync(request).DefaultTimeout();

    public static PreviewRouteRequest Preview(string image = "img.video.svc", int simulate = 0) =>
        new() { Service = new ServiceSelector { Image = image }, SimulateRequests = simulate };

    public static async Task<RpcException> FailsAsync(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call).DefaultTimeout();

    public async ValueTask DisposeAsync()
    {
        await Expiry.StopAsync(CancellationToken.None);
        await _services.DisposeAsync();
        Assert.Empty(Logs.Errors);
    }
}
