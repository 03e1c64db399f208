using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>The resource cache on virtual time: warm-up, debounce with a maximum delay, equal content keeps its version, store failures retried.</summary>
public sealed class ResourceCacheTests : IAsyncLifetime
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private readonly ManualTimeProvider _clock = new();
    private readonly TestLogSink _logs = new();
    private readonly FakePolicySource _policies = new();
    private readonly Channel<ResourceChangeSet> _changeSets = Channel.CreateUnbounded<ResourceChangeSet>();
    private readonly TaskCompletionSource _loadFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _removalHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _removalReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ServiceProvider _services = null!;
    private ResourceCache _cache = null!;
    private int _port = 8000;

    private ServiceRegistry Registry => _services.GetRequiredService<ServiceRegistry>();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    private async Task StartAsync(TimeSpan debounce, TimeSpan? maxDelay = null, Func<Task>? beforeStart = null)
    {
        var configuration = new ConfigurationBuilder().Build();
        _services = new ServiceCollection()
            .AddLogging(b => b.AddProvider(_logs).AddProvider(new EventSignal(4002, _loadFailed))
                .AddProvider(new EventSignal(4024, _removalHeld)).AddProvider(new EventSignal(4025, _removalReleased)).SetMinimumLevel(LogLevel.Debug))
            .AddSingleton<TimeProvider>(_clock)
            .AddSingleton<IRoutingPolicySource>(_policies)
            .AddRegistry(configuration)
            .AddDiscovery(configuration, o =>
            {
                o.DebounceWindow = debounce;
                o.MaxDebounceDelay = maxDelay ?? TimeSpan.FromSeconds(10);
                o.RebuildRetryDelay = TimeSpan.FromSeconds(2);
            })
            .BuildServiceProvider();
        if (beforeStart is not null)
        {
            await beforeStart();
        }
        _cache = _services.GetRequiredService<ResourceCache>();
        _cache.Watch(c => _changeSets.Writer.TryWrite(c));
        await _cache.StartAsync(CancellationToken.None).DefaultTimeout();
        await _cache.WhenWarm.DefaultTimeout();
    }

    private Task RegisterAsync(string id, string image, int port = 0) => Registry.RegisterAsync(new RegisterRequest
    {
        InstanceId = id,
        Name = "svc",
        Image = image,
        Host = "10.0.0.2",
        Port = port == 0 ? ++_port : port,
        TtlSeconds = 3600,
    }).DefaultTimeout();

    private async Task<ResourceChangeSet> NextChangeSetAsync() => await _changeSets.Reader.ReadAsync().AsTask().DefaultTimeout();

    [Fact]
    public async Task WarmUp_LoadsEveryImageWithLiveInstances_AndEveryPolicy_WithContentVersions()
    {
        _policies.Set(new RoutingPolicy { Image = "img.p", Algorithm = "round_robin" });
        await StartAsync(TimeSpan.Zero, beforeStart: async () =>
        {
            await RegisterAsync("a1", "img.a", 9001);
            await RegisterAsync("a2", "img.a", 9002);
            await RegisterAsync("b1", "img.b", 9003);
        });

        var endpoints = _cache.Snapshot(Endpoints);
        Assert.Equal(["img.a", "img.b"], endpoints.Resources.Keys);
        var records = await _services.GetRequiredService<IRegistryStore>().ListAsync(new InstanceQuery(Image: "img.a")).DefaultTimeout();
        Assert.Equal(ResourceVersion.Of(EndpointSetBuilder.Build("img.a", records)!), endpoints.Find("img.a")!.Version);
        Assert.Equal(endpoints.Find("img.a")!.Version, endpoints.Find("img.a")!.Wire.Version);
        Assert.Equal(["img.p"], _cache.Snapshot(ResourceTypes.RoutingPolicy).Resources.Keys);
        Assert.Contains(_logs.Records, r => r.EventId.Id == 4001);
    }

    [Fact]
    public async Task TheFirstChangeAfterAQuietPeriod_IsAppliedAtOnce_ABurstIsMergedUntilTheWindowPasses()
    {
        await StartAsync(TimeSpan.FromMilliseconds(100));
        await RegisterAsync("a1", "img.a");
        var first = await NextChangeSetAsync(); // no virtual time has passed
        Assert.Equal(["img.a"], first.NamesByType[Endpoints]);

        await RegisterAsync("b1", "img.b");
        _clock.Advance(TimeSpan.FromMilliseconds(60));
        await RegisterAsync("c1", "img.c");
        await RegisterAsync("c2", "img.c");
        _clock.Advance(TimeSpan.FromMilliseconds(99)); // 99 ms after the last change: still waiting
        Assert.Equal(2, _cache.PendingChanges);

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        var burst = await NextChangeSetAsync();
        Assert.Equal(["img.b", "img.c"], burst.NamesByType[Endpoints].Order(StringComparer.Ordinal));
        Assert.Equal(first.Revision + 1, burst.Revision);
        Assert.Equal(2, EndpointSet.Parser.ParseFrom(_cache.Snapshot(Endpoints).Find("img.c")!.Wire.Resource_.Value).Endpoints.Count);

        // After a quiet window the next change is immediate again.
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        await RegisterAsync("d1", "img.d");
        Assert.Equal(["img.d"], (await NextChangeSetAsync()).NamesByType[Endpoints]);
    }

    [Fact]
    public async Task ChangesThatNeverPause_AreAppliedAtTheMaximumDelay()
    {
        await StartAsync(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        await RegisterAsync("first", "img.first");
        await NextChangeSetAsync();

        // A change every 50 ms: the debounce window never passes quietly.
        for (var i = 1; i <= 20; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(50));
            await RegisterAsync($"i{i}", $"img.{i}");
        }
        Assert.Equal(20, _cache.PendingChanges);
        _clock.Advance(TimeSpan.FromMilliseconds(50)); // 1 s after the first waiting change
        var batch = await NextChangeSetAsync();
        Assert.Equal(20, batch.NamesByType[Endpoints].Count);
    }

    [Fact]
    public async Task EqualContent_KeepsItsVersion_AndIsNotReported()
    {
        await StartAsync(TimeSpan.Zero);
        await RegisterAsync("a1", "img.a", 9001);
        var added = await NextChangeSetAsync();
        var version = _cache.Snapshot(Endpoints).Find("img.a")!.Version;

        await RegisterAsync("a1", "img.a", 9001); // re-registration: signalled, same content
        await RegisterAsync("b1", "img.b", 9002);
        var next = await NextChangeSetAsync();
        Assert.Equal(["img.b"], next.NamesByType[Endpoints]);
        Assert.Equal(added.Revision + 1, next.Revision);
        Assert.Same(version, _cache.Snapshot(Endpoints).Find("img.a")!.Version);
    }

    [Fact]
    public async Task AnImageWhoseLastInstanceLeaves_IsRemoved()
    {
        await StartAsync(TimeSpan.Zero);
        await RegisterAsync("a1", "img.a");
        await NextChangeSetAsync();
        await Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "a1" }).DefaultTimeout();
        var removed = await NextChangeSetAsync();
        Assert.Equal(["img.a"], removed.NamesByType[Endpoints]);
        Assert.Null(_cache.Snapshot(Endpoints).Find("img.a"));
        Assert.Equal(ResourceSetVersion.Format(0), _cache.Snapshot(Endpoints).Version);
    }

    [Fact]
    public async Task AStoreFailure_IsLoggedAndRetried()
    {
        await StartAsync(TimeSpan.Zero);
        _policies.Failure = new InvalidOperationException("policy store unreachable");
        _policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "least_conn" });
        var changes = _services.GetRequiredService<ResourceChanges>();
        changes.PolicyChanged("img.a");
        await _loadFailed.Task.DefaultTimeout();

        _policies.Failure = null;
        _clock.Advance(TimeSpan.FromSeconds(2));
        var applied = await NextChangeSetAsync();
        Assert.Equal(["img.a"], applied.NamesByType[ResourceTypes.RoutingPolicy]);
        Assert.Contains(_logs.Errors, r => r.EventId.Id == 4002 && r.Exception?.Message == "policy store unreachable");
    }

    [Fact]
    public async Task ABatchWhosePolicyReadFails_AppliesItsEndpointChangesOnTheRetry()
    {
        await StartAsync(TimeSpan.FromMilliseconds(100));
        await RegisterAsync("z1", "img.z");
        await NextChangeSetAsync(); // the window is busy now: what follows is one batch

        _policies.Failure = new InvalidOperationException("policy store unreachable");
        _policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "least_conn" });
        await RegisterAsync("a1", "img.a"); // signalled first: it names instance a1
        _services.GetRequiredService<ResourceChanges>().PolicyChanged("img.a");
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        await _loadFailed.Task.DefaultTimeout();

        _policies.Failure = null;
        _clock.Advance(TimeSpan.FromSeconds(2));
        var applied = await NextChangeSetAsync();
        Assert.Equal(["img.a"], applied.NamesByType[ResourceTypes.RoutingPolicy]);
        Assert.Equal(["img.a"], applied.NamesByType[Endpoints]);
        Assert.Equal(["a1"], EndpointSet.Parser.ParseFrom(_cache.Snapshot(Endpoints).Find("img.a")!.Wire.Resource_.Value).Endpoints.Select(e => e.InstanceId));
    }

    [Fact]
    public async Task AReset_ReloadsEverything_AndAppliesOnlyWhatDiffers_RemovalsIncluded()
    {
        _policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "least_conn" });
        _policies.Set(new RoutingPolicy { Image = "img.b", Algorithm = "least_conn" });
        await StartAsync(TimeSpan.Zero, beforeStart: () => RegisterAsync("a1", "img.a"));
        var endpoints = _cache.Snapshot(Endpoints);

        // Changed behind the cache's back (another replica's changes, whose messages were missed).
        _policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "round_robin" });
        _policies.Delete("img.b");
        _policies.Set(new RoutingPolicy { Image = "img.c", Algorithm = "least_conn" });
        _services.GetRequiredService<ResourceChanges>().EverythingMayHaveChanged();

        var applied = await NextChangeSetAsync();
        Assert.Equal(["img.a", "img.b", "img.c"], applied.NamesByType[ResourceTypes.RoutingPolicy].Order(StringComparer.Ordinal));
        Assert.False(applied.NamesByType.ContainsKey(Endpoints)); // unchanged: nothing to send
        Assert.Equal(["img.a", "img.c"], _cache.Snapshot(ResourceTypes.RoutingPolicy).Resources.Keys);
        Assert.Same(endpoints, _cache.Snapshot(Endpoints));
    }

    [Fact]
    public async Task AResetWhoseReloadFails_KeepsServingTheSnapshots_AndIsRetried()
    {
        _policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "least_conn" });
        await StartAsync(TimeSpan.Zero, beforeStart: () => RegisterAsync("a1", "img.a"));
        var before = (_cache.Snapshot(Endpoints), _cache.Snapshot(ResourceTypes.RoutingPolicy));

        _policies.Failure = new InvalidOperationException("policy store unreachable");
        _policies.Delete("img.a");
        _services.GetRequiredService<ResourceChanges>().EverythingMayHaveChanged();
        await _loadFailed.Task.DefaultTimeout();

        // Nothing was emptied: what nodes are sent stays what it was until a reload succeeds.
        Assert.Same(before.Item1, _cache.Snapshot(Endpoints));
        Assert.Same(before.Item2, _cache.Snapshot(ResourceTypes.RoutingPolicy));
        Assert.NotNull(_cache.Snapshot(ResourceTypes.RoutingPolicy).Find("img.a"));

        _policies.Failure = null;
        _clock.Advance(TimeSpan.FromSeconds(2));
        var applied = await NextChangeSetAsync();
        Assert.Equal(["img.a"], applied.NamesByType[ResourceTypes.RoutingPolicy]);
        Assert.Null(_cache.Snapshot(ResourceTypes.RoutingPolicy).Find("img.a"));
    }

    /// <summary>Instance ids of the image's endpoint set as the cache holds it (empty: no set).</summary>
    private string[] EndpointIds(string image) => DiscoveryHost.EndpointsOf(_cache, image)?.Endpoints.Select(e => e.InstanceId).ToArray() ?? [];

    /// <summary>Removes instances from the store behind the cache's back, as a store that came back without them would have.</summary>
    private async Task ForgetInStoreAsync(params string[] ids)
    {
        var store = _services.GetRequiredService<IRegistryStore>();
        foreach (var id in ids)
        {
            Assert.NotNull(await store.DeregisterAsync(id).AsTask().DefaultTimeout());
        }
    }

    [Fact]
    public async Task AReloadThatWouldRemoveMostEndpoints_KeepsSendingThem_UntilTheHoldEnds_ThenRemovesThoseNotBack_ButADeregisteredOneAtOnce()
    {
        var a = Enumerable.Range(1, 10).Select(i => $"a{i:00}").ToArray();
        await StartAsync(TimeSpan.Zero, beforeStart: async () =>
        {
            foreach (var id in a)
            {
                await RegisterAsync(id, "img.a");
            }
            await RegisterAsync("b1", "img.b");
            await RegisterAsync("b2", "img.b");
        });
        var metrics = _services.GetRequiredService<DiscoveryMetrics>();
        var before = _cache.Snapshot(Endpoints);

        // The store comes back without 8 of img.a's 10 instances and without img.b: 10 of 12 endpoints.
        await ForgetInStoreAsync([.. a.Take(8), "b1", "b2"]);
        _services.GetRequiredService<ResourceChanges>().EverythingMayHaveChanged();
        await _removalHeld.Task.DefaultTimeout();

        // Nothing is sent: the sets keep their content, so their versions.
        Assert.Equal(before.Resources.Values.Select(r => r.Version), _cache.Snapshot(Endpoints).Resources.Values.Select(r => r.Version));
        Assert.Equal(10, metrics.EndpointsHeld!());
        Assert.Equal(0, _changeSets.Reader.Count);

        // An instance registering again meanwhile is sent as the store has it now (another port), the held ones beside it.
        await RegisterAsync("a01", "img.a", 9999);
        var back = await NextChangeSetAsync();
        Assert.Equal(["img.a"], back.NamesByType[Endpoints]);
        Assert.Equal(a, EndpointIds("img.a"));
        var a01 = DiscoveryHost.EndpointsOf(_cache, "img.a")!.Endpoints[0];
        Assert.Equal(("a01", 9999), (a01.InstanceId, a01.Port));
        Assert.Equal(9, metrics.EndpointsHeld!());

        // An instance deregistered meanwhile is not in the store to remove (NOT_FOUND), but leaves the hold at once.
        var deregistered = await Assert.ThrowsAsync<RpcException>(() => Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "a02" }).DefaultTimeout());
        Assert.Equal(StatusCode.NotFound, deregistered.StatusCode);
        Assert.Equal(["img.a"], (await NextChangeSetAsync()).NamesByType[Endpoints]);
        Assert.Equal(a.Where(id => id != "a02"), EndpointIds("img.a"));
        Assert.Equal(8, metrics.EndpointsHeld!());
        Assert.False(_removalReleased.Task.IsCompleted);

        // The hold ends: the instances that did not come back are removed, img.b with its set.
        _clock.Advance(TimeSpan.FromSeconds(30));
        await _removalReleased.Task.DefaultTimeout();
        var released = await NextChangeSetAsync();
        Assert.Equal(["img.a", "img.b"], released.NamesByType[Endpoints].Order(StringComparer.Ordinal));
        Assert.Equal(["a01", "a09", "a10"], EndpointIds("img.a"));
        Assert.Empty(EndpointIds("img.b"));
        Assert.Null(_cache.Snapshot(Endpoints).Find("img.b"));
        Assert.Equal(0, metrics.EndpointsHeld!());

        // A later deregistration of one that came back is sent at once, as ever.
        await Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "a01" }).DefaultTimeout();
        await NextChangeSetAsync();
        Assert.Equal(["a09", "a10"], EndpointIds("img.a"));
    }

    [Fact]
    public async Task AReloadRemovingAFewEndpoints_IsSentAtOnce()
    {
        await StartAsync(TimeSpan.Zero, beforeStart: async () =>
        {
            for (var i = 1; i <= 12; i++)
            {
                await RegisterAsync($"a{i:00}", "img.a");
            }
        });

        await ForgetInStoreAsync("a01", "a02", "a03");
        _services.GetRequiredService<ResourceChanges>().EverythingMayHaveChanged();

        var applied = await NextChangeSetAsync();
        Assert.Equal(["img.a"], applied.NamesByType[Endpoints]);
        Assert.Equal(9, EndpointIds("img.a").Length);
        Assert.False(_removalHeld.Task.IsCompleted);
    }

    [Fact]
    public void SetVersions_DependOnlyOnContent()
    {
        var a = VersionedResource.Create(Endpoints, "img.a", new EndpointSet { Image = "img.a" });
        var b = VersionedResource.Create(Endpoints, "img.b", new EndpointSet { Image = "img.b" });
        Assert.Equal(ResourceSetVersion.Of([a, b]), ResourceSetVersion.Of([b, a]));
        Assert.Equal(SetVersion.Of([a.Wire, b.Wire]), ResourceSetVersion.Of([a, b]));
        Assert.Equal("0000000000000000", ResourceSetVersion.Of([]));
        Assert.NotEqual(ResourceSetVersion.Of([a]), ResourceSetVersion.Of([b]));
        Assert.Equal(a.Version, VersionedResource.Create(Endpoints, "img.a", new EndpointSet { Image = "img.a" }).Version);
    }

    public async ValueTask DisposeAsync()
    {
        if (_cache is not null)
        {
            await _cache.StopAsync(CancellationToken.None).DefaultTimeout();
        }
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }

    /// <summary>Completes a task when an event id is logged: a signal to wait on instead of polling the logs.</summary>
    private sealed class EventSignal(int eventId, TaskCompletionSource signal) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId id, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (id.Id == eventId)
            {
                signal.TrySetResult();
            }
        }

        public void Dispose()
        {
        }
    }
}
