using ControlPlane.Api.V1;
using ControlPlane.Grpc;

namespace ControlPlane.Server.Tests.Registry;

public sealed class RegistrationTests
{
    [Fact]
    public async Task Register_CreatesAHealthyInstance_WithItsLease()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var response = await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080, ttl: 30));

        Assert.True(response.Created);
        Assert.Equal(1, response.Registered);
        Assert.Equal(bed.Clock.GetUtcNow().AddSeconds(30), response.ExpiresAt.ToDateTimeOffset());
        Assert.Equal("healthy", response.Instance.Status);
        Assert.Equal(2, response.Instance.Metadata.Fields["weight"].NumberValue);
    }

    [Fact]
    public async Task Register_WithoutTtl_UsesTheDefault()
    {
        await using var bed = await RegistryTestBed.StartAsync(o => o.DefaultTtlSeconds = 45);
        var response = await bed.RegisterAsync(RegistryTestBed.Instance("i1", ttl: 0));
        Assert.Equal(45, response.Instance.TtlSeconds);
        Assert.Equal(bed.Clock.GetUtcNow().AddSeconds(45), response.ExpiresAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task Register_IsIdempotent_ForTheSameInstance()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var first = await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));
        bed.Clock.Advance(10);
        var again = await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));

        Assert.False(again.Created);
        Assert.Equal(first.Instance.RegisteredAt, again.Instance.RegisteredAt);
        Assert.Equal(bed.Clock.GetUtcNow().AddSeconds(30), again.ExpiresAt.ToDateTimeOffset());
        Assert.Single((await bed.Registry.ListAsync(new ListServicesRequest())).Instances);
    }

    [Fact]
    public async Task Register_SameIdWithAnotherNameOrImage_IsRefused_AndChangesNothing()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));

        var byName = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8081, name: "other-svc")));
        var byImage = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8081, image: "img.other")));

        foreach (var error in new[] { byName, byImage })
        {
            Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
            Assert.Equal("duplicate_instance_id", error.Status.Reason());
            Assert.Contains("video-svc", error.Status.Detail, StringComparison.Ordinal);
        }
        var stored = (await bed.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" })).Instance;
        Assert.Equal(("video-svc", 8080), (stored.Name, stored.Port));
    }

    [Fact]
    public async Task Register_OnAPortHeldByAnotherLiveInstance_IsAPortConflict_NamingTheHolder()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));

        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i2", port: 8080)));

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Equal("port_conflict", error.Status.Reason());
        Assert.Contains("'i1'", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("i1", error.Status.GetDetail<Google.Rpc.ErrorInfo>()!.Metadata["holder_instance_id"]);
        Assert.Null(await bed.Store.GetAsync("i2"));
    }

    [Fact]
    public async Task Register_OnThePortOfAnExpiredInstance_Succeeds()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080, ttl: 10));
        bed.Clock.Advance(10);
        Assert.Equal("expired", await bed.StatusOfAsync("i1"));

        var response = await bed.RegisterAsync(RegistryTestBed.Instance("i2", port: 8080));
        Assert.True(response.Created);
    }

    [Fact]
    public async Task Reregister_MovingToANewPort_ReleasesTheOldOne()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8081));

        Assert.True((await bed.RegisterAsync(RegistryTestBed.Instance("i2", port: 8080))).Created);
        await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i3", port: 8081)));
    }

    [Fact]
    public async Task InvalidRegistration_NamesEveryBadField_AndStoresNothing()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var request = new RegisterRequest
        {
            Name = "",
            Image = "img video",
            InstanceId = "../../etc/passwd",
            Host = "not a host",
            Port = 70000,
            Region = "EU Central",
            TtlSeconds = -5,
            Metadata = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson("{\"weight\": 0}"),
        };

        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("invalid_request", error.Status.Reason());
        var fields = error.Status.FieldViolations().Select(v => v.Field).ToHashSet();
        Assert.Equal(new HashSet<string> { "name", "image", "instance_id", "host", "port", "region", "ttl_seconds", "metadata.weight" }, fields);
        Assert.Empty((await bed.Registry.ListAsync(new ListServicesRequest())).Instances);
    }

    [Theory]
    [InlineData("img/b")]   // a path segment of /g/{image}/... and /v1/policy/{image}: never routable
    [InlineData("img@sha")]
    [InlineData("-img")]
    [InlineData("img.a\n")] // "$" also matches before a final newline: every node would reject the push carrying it
    public async Task ImagesOutsideTheContract_AreRefused(string image)
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i1", image: image)));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["image"], error.Status.FieldViolations().Select(v => v.Field));
        Assert.Null(await bed.Store.GetAsync("i1"));
    }

    [Theory]
    [InlineData("i1\n", "svc", "eu-central")]
    [InlineData("i1", "svc\n", "eu-central")]
    [InlineData("i1", "svc", "eu-central\n")]
    public async Task ATrailingNewline_IsRefused_InEveryName(string id, string name, string region)
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var request = RegistryTestBed.Instance(id);
        request.Name = name;
        request.Region = region;
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Single(error.Status.FieldViolations());
        Assert.Empty((await bed.Registry.ListAsync(new ListServicesRequest())).Instances);
    }

    [Fact]
    public async Task ImagesOf253Characters_AreTheLongestAccepted()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        Assert.True((await bed.RegisterAsync(RegistryTestBed.Instance("i1", image: "img:" + new string('a', 249)))).Created);
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(RegistryTestBed.Instance("i2", image: "img:" + new string('a', 250))));
        Assert.Equal(["image"], error.Status.FieldViolations().Select(v => v.Field));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4000)]
    public async Task OversizedMetadata_IsRefused(int dummy)
    {
        _ = dummy;
        await using var bed = await RegistryTestBed.StartAsync();
        var request = RegistryTestBed.Instance("i1");
        for (var i = 0; i < 100; i++)
        {
            request.Metadata.Fields["k" + i] = Google.Protobuf.WellKnownTypes.Value.ForString(new string('x', 100));
        }
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));
        Assert.Contains(error.Status.FieldViolations(), v => v.Field == "metadata");
    }

    [Theory]
    [InlineData("10.0.0.256")]
    [InlineData("1.2.3")]
    [InlineData("10")]
    public async Task NumericHostsThatAreNotIPv4Addresses_AreRefused(string host)
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var request = RegistryTestBed.Instance("i1");
        request.Host = host;
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));
        Assert.Equal(["host"], error.Status.FieldViolations().Select(v => v.Field));
    }

    [Theory]
    [InlineData(true, 16, true)]   // the deepest accepted
    [InlineData(true, 17, false)]
    [InlineData(false, 16, true)]
    [InlineData(false, 40, false)] // deep enough that a node could not parse the endpoint set carrying it
    public async Task MetadataNestedTooDeep_IsRefused_BeforeItCanReachANode(bool lists, int depth, bool accepted)
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var request = RegistryTestBed.Instance("i1");
        var value = Google.Protobuf.WellKnownTypes.Value.ForString("leaf");
        for (var level = depth; level > 1; level--)
        {
            value = lists
                ? Google.Protobuf.WellKnownTypes.Value.ForList(value)
                : Google.Protobuf.WellKnownTypes.Value.ForStruct(new() { Fields = { ["n"] = value } });
        }
        request.Metadata.Fields["deep"] = value;

        if (accepted)
        {
            Assert.True((await bed.RegisterAsync(request)).Created);
            return;
        }
        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));
        Assert.Equal(Grpc.StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["metadata"], error.Status.FieldViolations().Select(v => v.Field));
    }

    public static readonly TheoryData<string, Google.Protobuf.WellKnownTypes.Value> ValuesWithoutAJsonForm = new()
    {
        { "metadata.a", new Google.Protobuf.WellKnownTypes.Value() },
        { "metadata.a", Google.Protobuf.WellKnownTypes.Value.ForNumber(double.NaN) },
        { "metadata.a.b", Google.Protobuf.WellKnownTypes.Value.ForStruct(new() { Fields = { ["b"] = Google.Protobuf.WellKnownTypes.Value.ForNumber(double.PositiveInfinity) } }) },
        { "metadata.a[1]", Google.Protobuf.WellKnownTypes.Value.ForList(Google.Protobuf.WellKnownTypes.Value.ForNull(), new Google.Protobuf.WellKnownTypes.Value()) },
    };

    [Theory]
    [MemberData(nameof(ValuesWithoutAJsonForm))]
    public async Task MetadataValuesWithoutAJsonForm_AreRefused_ByPath(string path, Google.Protobuf.WellKnownTypes.Value value)
    {
        await using var bed = await RegistryTestBed.StartAsync();
        var request = RegistryTestBed.Instance("i1");
        request.Metadata.Fields["a"] = value;

        var error = await RegistryTestBed.FailsAsync(() => bed.RegisterAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal([path], error.Status.FieldViolations().Select(v => v.Field));
        Assert.Null(await bed.Store.GetAsync("i1"));
    }

    [Fact]
    public async Task Deregister_RemovesTheInstance_AndUnknownIsNotFound()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1", port: 8080));

        var removed = await bed.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "i1" });
        Assert.True(removed.Deregistered);
        Assert.Null(await bed.Store.GetAsync("i1"));
        Assert.True((await bed.RegisterAsync(RegistryTestBed.Instance("i2", port: 8080))).Created);

        var error = await RegistryTestBed.FailsAsync(() => bed.Registry.DeregisterAsync(new DeregisterRequest { InstanceId = "i1" }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("not_found", error.Status.Reason());
    }

    [Fact]
    public async Task Drain_IsVisibleInListings_SurvivesHeartbeatsAndReregistration_AndCanBeUndone()
    {
        await using var bed = await RegistryTestBed.StartAsync();
        await bed.RegisterAsync(RegistryTestBed.Instance("i1"));
        await bed.RegisterAsync(RegistryTestBed.Instance("i2"));

        var drained = await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "i1" });
        Assert.Equal("draining", drained.Instance.Status);
        await bed.BeatAsync("i1");
        await bed.RegisterAsync(RegistryTestBed.Instance("i1"));
        var draining = await bed.Registry.ListAsync(new ListServicesRequest { Status = "draining" });
        Assert.Equal(["i1"], draining.Instances.Select(i => i.InstanceId));

        var resumed = await bed.Registry.DrainAsync(new DrainInstanceRequest { InstanceId = "i1", Resume = true });
        Assert.Equal("healthy", resumed.Instance.Status);
    }
}
