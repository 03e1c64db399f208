using ControlPlane.Server.Storage;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Storage;

public abstract partial class RegistryStoreContract
{
    /// <summary>
    /// Strings that mean something to Lua, to Redis or to the key layout. The registry validates ids
    /// before the store sees them; the store must be safe without that.
    /// </summary>
    public static readonly TheoryData<string> HostileIds = new(
        "quote'and\"double",
        "]]..redis.call('FLUSHALL')..[[",
        "'); redis.call('FLUSHDB'); --",
        "%s%d%n",
        "*",
        "?[a-z]",
        "{hash-tag}",
        "inst_expiry",
        "svc:video-svc:instances",
        ":",
        "with space",
        "line\r\nbreak*3\r\n$4\r\nPING",
        "nul\0byte",
        "back\\slash",
        "ünïcödé-ид");

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task HostileIds_RoundTrip_AndTouchNoOtherInstance(string id)
    {
        var store = NewStore();
        var bystander = await RegisterAsync(store, Spec("bystander", port: 7000), T0);
        var spec = Spec(id, name: id, image: id, host: "10.9.9.9", port: 7001);

        var created = await RegisterAsync(store, spec, T0);

        AssertSameSpec(spec, created.Spec);
        Assert.Equal(created, await store.GetAsync(id).DefaultTimeout());
        Assert.Equal([id], await IdsAsync(store, new InstanceQuery(Name: id)));
        Assert.Equal([id], await IdsAsync(store, new InstanceQuery(Image: id)));
        Assert.Equal(RenewResult.Renewed, (await store.RenewAsync([id], 0, T0.AddSeconds(1)).DefaultTimeout())[0].Result);
        Assert.Equal(new RegistryCounts(2, 0, 0), await store.CountAsync().DefaultTimeout());
        Assert.Equal(id, (await store.DeregisterAsync(id).DefaultTimeout())!.InstanceId);
        Assert.Equal(bystander, await store.GetAsync("bystander").DefaultTimeout());
        Assert.Equal(["bystander"], await IdsAsync(store));
        Assert.Equal(new RegistryCounts(1, 0, 0), await store.CountAsync().DefaultTimeout());
    }

    [Fact]
    public async Task HugeMetadata_RoundTrips_ByteForByte()
    {
        var store = NewStore();
        // Arbitrary bytes, not only valid protobuf: the store keeps what it is given.
        var bytes = Bytes(1 << 20);
        var spec = Spec("big") with { MetadataBytes = bytes };

        await RegisterAsync(store, spec, T0);

        Assert.Equal(bytes, (await store.GetAsync("big").DefaultTimeout())!.Spec.MetadataBytes);
        Assert.Equal(bytes, (await store.ListAsync(new InstanceQuery(Image: spec.Image)).DefaultTimeout()).Single().Spec.MetadataBytes);
        Assert.Equal(bytes, (await store.DeregisterAsync("big").DefaultTimeout())!.Spec.MetadataBytes);
    }

    [Fact]
    public async Task MetadataWithEveryByteValue_RoundTrips()
    {
        var store = NewStore();
        var bytes = ByteString.CopyFrom([.. Enumerable.Range(0, 256).Select(b => (byte)b)]);
        await RegisterAsync(store, Spec("bytes") with { MetadataBytes = bytes }, T0);
        Assert.Equal(bytes, (await store.GetAsync("bytes").DefaultTimeout())!.Spec.MetadataBytes);
    }
}
