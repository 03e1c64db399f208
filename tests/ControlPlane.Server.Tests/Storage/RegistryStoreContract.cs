using ControlPlane.Server.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>
/// What every <see cref="IRegistryStore"/> does, run against each implementation (the embedded
/// store and Redis): the same calls must give the same answers. Times are whole milliseconds (the
/// Redis store keeps unix milliseconds).
/// </summary>
public abstract partial class RegistryStoreContract : IAsyncDisposable
{
    protected static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Retention = TimeSpan.FromSeconds(60);

    private readonly List<IRegistryStore> _stores = [];

    /// <summary>A new, empty store (skips the test when its server is not installed).</summary>
    protected abstract IRegistryStore CreateStore();

    protected IRegistryStore NewStore()
    {
        var store = CreateStore();
        _stores.Add(store);
        return store;
    }

    public virtual ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            (store as IDisposable)?.Dispose();
        }
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    protected static InstanceSpec Spec(string id, string name = "video-svc", string image = "img.video.svc", string host = "10.0.0.1", int port = 0, int ttl = 30, string region = "eu-central", string metadataJson = "{\"weight\": 2}") =>
        new(id, name, image, host, port == 0 ? Registry.RegistryTestBed.PortOf(id) : port, region, InstanceSpec.Encode(Struct.Parser.ParseJson(metadataJson)), ttl);

    protected static async Task<InstanceRecord> RegisterAsync(IRegistryStore store, InstanceSpec spec, DateTimeOffset now)
    {
        var outcome = await store.RegisterAsync(spec, now).DefaultTimeout();
        Assert.True(outcome.Result is RegisterResult.Created or RegisterResult.Updated, $"registering {spec.InstanceId}: {outcome.Result} (holder {outcome.Holder?.InstanceId})");
        return outcome.Instance!;
    }

    protected static async Task<IReadOnlyList<string>> IdsAsync(IRegistryStore store, InstanceQuery? query = null) =>
        [.. (await store.ListAsync(query ?? new InstanceQuery()).DefaultTimeout()).Select(r => r.InstanceId)];

    /// <summary>Expires everything overdue at <paramref name="now"/>, as the expiry pass does.</summary>
    protected static async Task<IReadOnlyList<InstanceRecord>> ExpireDueAsync(IRegistryStore store, DateTimeOffset now)
    {
        var scan = await store.ScanExpiryAsync(now, Retention, 100_000).DefaultTimeout();
        return await store.ExpireAsync(scan.Overdue, now).DefaultTimeout();
    }

    protected static void AssertSameSpec(InstanceSpec expected, InstanceSpec actual)
    {
        Assert.Equal(expected.InstanceId, actual.InstanceId);
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.Image, actual.Image);
        Assert.Equal(expected.Host, actual.Host);
        Assert.Equal(expected.Port, actual.Port);
        Assert.Equal(expected.Region, actual.Region);
        Assert.Equal(expected.TtlSeconds, actual.TtlSeconds);
        Assert.Equal(expected.MetadataBytes, actual.MetadataBytes);
    }

    [Fact]
    public async Task Ping_Answers()
    {
        var store = NewStore();
        await store.PingAsync().DefaultTimeout();
    }

    [Fact]
    public async Task EmptyStore_HasNothing()
    {
        var store = NewStore();
        Assert.Null(await store.GetAsync("i1").DefaultTimeout());
        Assert.Empty(await IdsAsync(store));
        Assert.Equal(new RegistryCounts(0, 0, 0), await store.CountAsync().DefaultTimeout());
        var scan = await store.ScanExpiryAsync(T0, Retention, 10).DefaultTimeout();
        Assert.Empty(scan.Overdue);
        Assert.Equal(0, scan.LiveCount);
        Assert.Null(scan.NextDeadline);
        Assert.Empty(await store.RemoveExpiredAsync(T0, Retention).DefaultTimeout());
        Assert.Null(await store.DeregisterAsync("i1").DefaultTimeout());
        Assert.Null(await store.SetDrainingAsync("i1", true).DefaultTimeout());
    }

    private static ByteString Bytes(int size)
    {
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        return ByteString.CopyFrom(bytes);
    }
}
