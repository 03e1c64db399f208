using ControlPlane.Server.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

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
        // A megabyte of text in one value, and many entries: the store keeps them as given, in order.
        var metadata = new Struct { Fields = { ["blob"] = Value.ForString(Text(1 << 20)) } };
        for (var i = 0; i < 500; i++)
        {
            metadata.Fields["k" + i] = i % 2 == 0 ? Value.ForNumber(i * 1.25) : Value.ForList(Value.ForString("v" + i), Value.ForBool(true), Value.ForNull());
        }
        var bytes = InstanceSpec.Encode(metadata);
        var spec = Spec("big") with { MetadataBytes = bytes };

        await RegisterAsync(store, spec, T0);

        Assert.Equal(bytes, (await store.GetAsync("big").DefaultTimeout())!.Spec.MetadataBytes);
        Assert.Equal(bytes, (await store.ListAsync(new InstanceQuery(Image: spec.Image)).DefaultTimeout()).Single().Spec.MetadataBytes);
        Assert.Equal(bytes, (await store.DeregisterAsync("big").DefaultTimeout())!.Spec.MetadataBytes);
    }

    [Fact]
    public async Task MetadataWithEveryKindOfCharacter_RoundTrips()
    {
        var store = NewStore();
        // Control characters, quotes, backslashes, the NUL character, Latin-1, a surrogate pair: in keys and values.
        var text = new string([.. Enumerable.Range(0, 0x800).Select(c => (char)c)]) + "\U0001F600\"\\/";
        var metadata = new Struct
        {
            Fields =
            {
                [text] = Value.ForString(text),
                ["nested"] = Value.ForStruct(new Struct { Fields = { [text] = Value.ForList(Value.ForString(text), Value.ForNumber(-0.1), Value.ForNumber(1e300)) } }),
            },
        };
        var bytes = InstanceSpec.Encode(metadata);
        await RegisterAsync(store, Spec("chars") with { MetadataBytes = bytes }, T0);
        Assert.Equal(bytes, (await store.GetAsync("chars").DefaultTimeout())!.Spec.MetadataBytes);
    }

    private static string Text(int length)
    {
        var random = new Random(length);
        return new string([.. Enumerable.Range(0, length).Select(_ => (char)random.Next(0x20, 0x7F))]);
    }
}
