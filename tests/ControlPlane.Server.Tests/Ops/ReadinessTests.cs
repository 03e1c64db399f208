using System.Net;
using ControlPlane.Server.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Ops;

public sealed class ReadinessTests
{
    [Fact]
    public async Task Readyz_IsOk_OnceStarted()
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var http = host.CreateHttpClient();
        Assert.Equal("ok", await http.GetStringAsync("/readyz").DefaultTimeout());
    }

    [Fact]
    public async Task Readyz_Is503_WhileTheStoreIsUnreachable_AndRecovers()
    {
        var store = new UnreachableStore();
        await using var host = await ControlPlaneFixture.StartWithStoreAsync(store);
        using var http = host.CreateHttpClient();

        store.Down = true;
        using var down = await http.GetAsync("/readyz").DefaultTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("not_ready: store unreachable", await down.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal("ok", await http.GetStringAsync("/healthz").DefaultTimeout());

        store.Down = false;
        Assert.Equal("ok", await http.GetStringAsync("/readyz").DefaultTimeout());
    }

    [Fact]
    public async Task Readyz_WhileTheStoreHangsAndIsKnownUnreachable_AnswersWithinAKubeletProbesSecond()
    {
        var store = new UnreachableStore();
        await using var host = await ControlPlaneFixture.StartWithStoreAsync(store);
        using var http = host.CreateHttpClient();

        store.Hangs = true;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var down = await http.GetAsync("/readyz").DefaultTimeout();
        Assert.Equal("not_ready: store unreachable", await down.Content.ReadAsStringAsync().DefaultTimeout());
        // A ping to a store known to be down is not waited for 2 s (a kubelet gives up after 1 s).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"/readyz took {clock.Elapsed}");
    }

    /// <summary>The embedded store whose reachability a test switches off (a stand-in for a lost network store).</summary>
    private sealed class UnreachableStore : IRegistryStore
    {
        private readonly InMemoryRegistryStore _inner = new();

        public volatile bool Down;

        /// <summary>Known to be unreachable, and a ping never answers (a hung Redis).</summary>
        public volatile bool Hangs;

        public bool KnownUnreachable => Hangs;

        public async ValueTask PingAsync(CancellationToken cancellationToken = default)
        {
            if (Hangs)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            if (Down)
            {
                throw new IOException("connection refused");
            }
        }

        public ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default) => _inner.RegisterAsync(spec, now, cancellationToken);

        public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default) => _inner.RenewAsync(instanceIds, ttlSeconds, now, cancellationToken);

        public ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default) => _inner.DeregisterAsync(instanceId, cancellationToken);

        public ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default) => _inner.AnnounceGoneAsync(image, instanceId, cancellationToken);

        public ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default) => _inner.SetDrainingAsync(instanceId, draining, cancellationToken);

        public ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default) => _inner.GetAsync(instanceId, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default) => _inner.GetManyAsync(instanceIds, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default) => _inner.ListAsync(query, cancellationToken);

        public ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default) =>
            _inner.ScanExpiryAsync(now, retention, limit, recentWindow, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default) => _inner.ExpireAsync(instanceIds, now, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default) => _inner.RemoveExpiredAsync(now, retention, cancellationToken);

        public ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default) => _inner.CountAsync(cancellationToken);
    }
}
