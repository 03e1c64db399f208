using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// An endpoint set signalled with the instances that changed is read as those instances and patched;
/// it must come out byte for byte as a full read of the image would (versions are digests of the
/// bytes), through every kind of change, and a failed read must lose nothing.
/// </summary>
public sealed class ResourceLoaderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private readonly CountingStore _store = new(new InMemoryRegistryStore());
    private readonly ResourceLoader _loader;

    public ResourceLoaderTests() => _loader = new ResourceLoader(_store, new FakePolicySource());

    [Fact]
    public async Task AChangeNamingItsInstance_ReadsOnlyThat_AndGivesWhatAFullReadGives()
    {
        for (var i = 0; i < 50; i++)
        {
            await _store.RegisterAsync(Spec($"i{i:D2}", "img.a", 8000 + i), T0);
        }
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        _store.Reset();

        await _store.RegisterAsync(Spec("i25", "img.a", 9025), T0);   // moved
        await _store.RegisterAsync(Spec("i99", "img.a", 9099), T0);   // new
        await _store.DeregisterAsync("i03");                          // gone
        await _store.SetDrainingAsync("i40", true);                   // draining
        _loader.NoteEndpoints("img.a", ["i25", "i99"]);
        _loader.NoteEndpoints("img.a", ["i03"]);
        _loader.NoteEndpoints("img.a", ["i40", "i25"]);
        var loaded = await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout();

        Assert.Equal((0, 1, 4), (_store.Listings, _store.GetManyCalls, _store.InstancesRead));
        await AssertAsFullReadAsync("img.a", loaded["img.a"]);
    }

    [Fact]
    public async Task TheLastInstanceGone_TheSetIsGone_AndANewImageStartsFromEmpty()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        _store.Reset();

        await _store.DeregisterAsync("a1");
        await _store.RegisterAsync(Spec("b1", "img.b", 8002), T0);
        _loader.NoteEndpoints("img.a", ["a1"]);
        _loader.NoteEndpoints("img.b", ["b1"]);
        var loaded = await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a", "img.b"], CancellationToken.None).DefaultTimeout();

        Assert.Null(loaded["img.a"]);
        await AssertAsFullReadAsync("img.b", loaded["img.b"]);
        Assert.Equal(0, _store.Listings);
    }

    [Fact]
    public async Task InstancesAllExpired_TheSetStaysWithoutEndpoints_UntilTheLastRecordIsRemoved()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _store.RegisterAsync(Spec("a2", "img.a", 8002), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();

        // Both expire (30 s leases): the image is still known, with no endpoint.
        await _store.ExpireAsync(["a1", "a2"], T0.AddSeconds(30));
        _loader.NoteEndpoints("img.a", ["a1", "a2"]);
        var expired = (await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout())["img.a"];
        Assert.NotNull(expired);
        Assert.Empty(EndpointSet.Parser.ParseFrom(expired.Wire.Resource_.Value).Endpoints);
        await AssertAsFullReadAsync("img.a", expired);

        // One record deregistered, the other removed after the retention: then the set is gone.
        await _store.DeregisterAsync("a1");
        _loader.NoteEndpoints("img.a", ["a1"]);
        var one = (await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout())["img.a"];
        Assert.Equal(expired.Version, one?.Version);
        var removed = await _store.Inner.RemoveExpiredAsync(T0.AddSeconds(90), TimeSpan.FromSeconds(60));
        Assert.Equal(["a2"], removed.Select(r => r.InstanceId));
        _loader.NoteEndpoints("img.a", ["a2"]);
        Assert.Null((await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout())["img.a"]);
        await AssertAsFullReadAsync("img.a", null);
    }

    [Fact]
    public async Task AChangeNamingNoInstance_OrTooMany_ReadsTheImageWhole()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        _store.Reset();

        await _store.RegisterAsync(Spec("a2", "img.a", 8002), T0);
        _loader.NoteEndpoints("img.a", null);
        _loader.NoteEndpoints("img.a", ["a2"]); // named after an unnamed one: still read whole
        await AssertAsFullReadAsync("img.a", (await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout())["img.a"]);
        Assert.Equal((1, 0), (_store.Listings, _store.GetManyCalls));

        _store.Reset();
        _loader.NoteEndpoints("img.a", Enumerable.Range(0, ResourceLoader.MaxPatchedInstances + 1).Select(i => $"x{i}").ToList());
        await AssertAsFullReadAsync("img.a", (await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout())["img.a"]);
        Assert.Equal((1, 0), (_store.Listings, _store.GetManyCalls));
    }

    [Fact]
    public async Task AFailedRead_KeepsWhatItWasToRead_ForTheRetry()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();

        await _store.RegisterAsync(Spec("a2", "img.a", 8002), T0);
        _loader.NoteEndpoints("img.a", ["a2"]);
        _store.Failure = new StoreUnavailableException("down");
        await Assert.ThrowsAsync<StoreUnavailableException>(() => _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None)).DefaultTimeout();

        _store.Failure = null;
        await _store.RegisterAsync(Spec("a3", "img.a", 8003), T0);
        _loader.NoteEndpoints("img.a", ["a3"]);
        var loaded = await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout();

        await AssertAsFullReadAsync("img.a", loaded["img.a"]);
        Assert.Equal(["a1", "a2", "a3"], EndpointSet.Parser.ParseFrom(loaded["img.a"]!.Wire.Resource_.Value).Endpoints.Select(e => e.InstanceId));
    }

    [Fact]
    public async Task AChangeReadByAnEarlierLoad_IsLeftOut()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        _loader.NoteEndpoints("img.a", ["a1"]);
        Assert.True((await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout()).ContainsKey("img.a"));

        _store.Reset();
        Assert.Empty(await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout());
        Assert.Equal((0, 0), (_store.Listings, _store.GetManyCalls));
    }

    [Fact]
    public async Task AFullReload_ForgetsImagesThatAreGone_SoPatchesStartFromEmpty()
    {
        await _store.RegisterAsync(Spec("a1", "img.a", 8001), T0);
        await _store.RegisterAsync(Spec("a2", "img.a", 8002), T0);
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();

        // Both gone without a signal (a replica that missed them), then a full reload.
        await _store.DeregisterAsync("a1");
        await _store.DeregisterAsync("a2");
        Assert.Empty(await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout());

        await _store.RegisterAsync(Spec("a3", "img.a", 8003), T0);
        _loader.NoteEndpoints("img.a", ["a3"]);
        var loaded = await _loader.LoadAsync(ResourceTypes.EndpointSet, ["img.a"], CancellationToken.None).DefaultTimeout();
        Assert.Equal(["a3"], EndpointSet.Parser.ParseFrom(loaded["img.a"]!.Wire.Resource_.Value).Endpoints.Select(e => e.InstanceId));
    }

    [Fact]
    public async Task RandomChanges_PatchedSetsAlwaysEqualFullReads()
    {
        var random = new Random(20261122);
        string[] images = ["img.a", "img.b", "img.c"];
        await _loader.LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        _store.Reset();
        for (var round = 0; round < 200; round++)
        {
            var touched = new HashSet<string>(StringComparer.Ordinal);
            for (var change = random.Next(1, 6); change > 0; change--)
            {
                var image = images[random.Next(images.Length)];
                var id = $"{image[^1]}{random.Next(12)}";
                switch (random.Next(6))
                {
                    case 0:
                    case 1:
                        // Each id keeps its image; a port of its own plus a moving part, so ports never clash.
                        await _store.RegisterAsync(Spec(id, image, 10_000 + (id[0] - 'a') * 1_000 + int.Parse(id[1..]) * 10 + random.Next(10), weight: random.Next(1, 4)), T0);
                        break;
                    case 2:
                        await _store.DeregisterAsync(id);
                        break;
                    case 3:
                        // Past its lease (registered at T0 for 30 s): expired, its record retained.
                        await _store.ExpireAsync([id], T0.AddSeconds(30));
                        break;
                    case 4:
                        // The retention ends for every expired record: each removal is signalled.
                        foreach (var gone in await _store.Inner.RemoveExpiredAsync(T0.AddSeconds(30), TimeSpan.Zero))
                        {
                            _loader.NoteEndpoints(gone.Spec.Image, [gone.InstanceId]);
                            touched.Add(gone.Spec.Image);
                        }
                        break;
                    default:
                        await _store.SetDrainingAsync(id, random.Next(2) == 0);
                        break;
                }
                _loader.NoteEndpoints(image, [id]);
                touched.Add(image);
            }
            var loaded = await _loader.LoadAsync(ResourceTypes.EndpointSet, touched, CancellationToken.None).DefaultTimeout();
            foreach (var image in touched)
            {
                await AssertAsFullReadAsync(image, loaded[image]);
            }
        }
        Assert.Equal(0, _store.Listings);
    }

    private async Task AssertAsFullReadAsync(string image, VersionedResource? patched)
    {
        var full = await new ResourceLoader(_store.Inner, new FakePolicySource()).LoadAllAsync(ResourceTypes.EndpointSet, CancellationToken.None).DefaultTimeout();
        var expected = full.SingleOrDefault(r => r.Name == image);
        Assert.Equal(expected?.Version, patched?.Version);
        Assert.Equal(expected?.Wire.Resource_.Value.ToByteArray(), patched?.Wire.Resource_.Value.ToByteArray());
    }

    private static InstanceSpec Spec(string id, string image, int port, int weight = 1)
    {
        var metadata = new Google.Protobuf.WellKnownTypes.Struct();
        metadata.Fields["weight"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(weight);
        return new InstanceSpec(id, "svc", image, "10.0.0.1", port, "eu", InstanceSpec.Encode(metadata), 30);
    }

    /// <summary>The embedded store, counting the reads the loader makes, and failing them on demand.</summary>
    private sealed class CountingStore(InMemoryRegistryStore inner) : IRegistryStore
    {
        public InMemoryRegistryStore Inner => inner;

        public int Listings { get; private set; }

        public int GetManyCalls { get; private set; }

        public int InstancesRead { get; private set; }

        public Exception? Failure { get; set; }

        public void Reset() => (Listings, GetManyCalls, InstancesRead) = (0, 0, 0);

        public ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default) => inner.RegisterAsync(spec, now, cancellationToken);

        public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            inner.RenewAsync(instanceIds, ttlSeconds, now, cancellationToken);

        public ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default) => inner.DeregisterAsync(instanceId, cancellationToken);

        public ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default) => inner.AnnounceGoneAsync(image, instanceId, cancellationToken);

        public ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default) => inner.SetDrainingAsync(instanceId, draining, cancellationToken);

        public ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default) => inner.GetAsync(instanceId, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default)
        {
            if (Failure is { } failure)
            {
                return ValueTask.FromException<IReadOnlyList<InstanceRecord?>>(failure);
            }
            GetManyCalls++;
            InstancesRead += instanceIds.Count;
            return inner.GetManyAsync(instanceIds, cancellationToken);
        }

        public ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default)
        {
            if (Failure is { } failure)
            {
                return ValueTask.FromException<IReadOnlyList<InstanceRecord>>(failure);
            }
            Listings++;
            return inner.ListAsync(query, cancellationToken);
        }

        public ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default) =>
            inner.ScanExpiryAsync(now, retention, limit, recentWindow, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default) =>
            inner.ExpireAsync(instanceIds, now, cancellationToken);

        public ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default) =>
            inner.RemoveExpiredAsync(now, retention, cancellationToken);

        public ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default) => inner.CountAsync(cancellationToken);

        public ValueTask PingAsync(CancellationToken cancellationToken = default) => inner.PingAsync(cancellationToken);
    }
}
