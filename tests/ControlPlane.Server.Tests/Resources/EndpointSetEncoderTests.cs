using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Resources;

/// <summary>
/// The incremental encoder must give, byte for byte, what a fresh EndpointSet message serializes
/// to, through every kind of change between rebuilds: versions are digests of these bytes, so any
/// difference would be a new version for unchanged content (or the same one for changed content).
/// </summary>
public sealed class EndpointSetEncoderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private readonly EndpointSetEncoder _encoder = new();

    [Fact]
    public void Equals_a_fresh_message_through_adds_changes_drains_and_removals()
    {
        var records = new List<InstanceRecord> { Record("i-b", port: 2), Record("i-a", port: 1, weight: 3) };
        AssertSameAsFresh(records);

        records.Add(Record("i-0", port: 3));
        records.Add(Record("i-c", port: 4));
        AssertSameAsFresh(records);

        records[0] = Record("i-b", port: 20);
        records[1] = Record("i-a", port: 1, weight: 3, status: InstanceStatus.Draining);
        AssertSameAsFresh(records);

        records.RemoveAt(2);
        records.Add(Record("i-d", port: 5, status: InstanceStatus.Expired));
        records.Add(Record("i-aa", port: 6));
        AssertSameAsFresh(records);

        records[1] = Record("i-a", port: 1, weight: 3);
        AssertSameAsFresh(records);
    }

    [Fact]
    public void Instances_of_other_images_and_expired_ones_are_left_out()
    {
        var records = new[] { Record("i-a", port: 1), Record("i-x", port: 2, image: "img.other"), Record("i-e", port: 3, status: InstanceStatus.Expired) };

        var set = EndpointSet.Parser.ParseFrom(_encoder.Encode("img.a", records)!);

        Assert.Equal(["i-a"], set.Endpoints.Select(e => e.InstanceId));
    }

    [Fact]
    public void An_image_whose_instances_all_expired_has_a_set_without_endpoints_until_its_last_record_is_gone()
    {
        Assert.NotNull(_encoder.Encode("img.a", [Record("i-a", port: 1)]));
        Assert.Equal(1, _encoder.ImageCount);

        // Expired but retained: the image still exists, with no endpoint (nodes answer 503, not 404).
        AssertSameAsFresh([Record("i-a", port: 1, status: InstanceStatus.Expired)]);
        Assert.Empty(EndpointSet.Parser.ParseFrom(_encoder.Encode("img.a", [Record("i-a", port: 1, status: InstanceStatus.Expired)])!).Endpoints);
        Assert.Equal(1, _encoder.ImageCount);

        // Its last record removed: no set, and the image is forgotten.
        Assert.Null(_encoder.Encode("img.a", []));
        Assert.Equal(0, _encoder.ImageCount);

        // And comes back whole when an instance returns.
        AssertSameAsFresh([Record("i-a", port: 1)]);
    }

    [Fact]
    public void Patches_keep_an_image_while_an_expired_record_is_retained_and_drop_it_with_the_last_record()
    {
        _encoder.Encode("img.a", [Record("i-a", port: 1), Record("i-b", port: 2)]);

        var expired = _encoder.Patch("img.a", ["i-a", "i-b"], [Record("i-a", port: 1, status: InstanceStatus.Expired), Record("i-b", port: 2, status: InstanceStatus.Expired)]);
        Assert.Equal(EndpointSetBuilder.Build("img.a", [Record("i-a", port: 1, status: InstanceStatus.Expired)])!.ToByteArray(), expired!.ToByteArray());

        Assert.NotNull(_encoder.Patch("img.a", ["i-a"], [null])); // i-b is still retained
        Assert.Null(_encoder.Patch("img.a", ["i-b"], [null]));
        Assert.Equal(0, _encoder.ImageCount);

        // An expired instance that registers again is an endpoint again.
        _encoder.Encode("img.a", [Record("i-a", port: 1, status: InstanceStatus.Expired)]);
        var back = _encoder.Patch("img.a", ["i-a"], [Record("i-a", port: 1)]);
        Assert.Equal(EndpointSetBuilder.Build("img.a", [Record("i-a", port: 1)])!.ToByteArray(), back!.ToByteArray());
    }

    [Fact]
    public void Equal_content_gives_equal_bytes_whatever_the_listing_order()
    {
        var first = _encoder.Encode("img.a", [Record("i-a", port: 1), Record("i-b", port: 2)])!;
        var second = new EndpointSetEncoder().Encode("img.a", [Record("i-b", port: 2), Record("i-a", port: 1)])!;

        Assert.Equal(first.ToByteArray(), second.ToByteArray());
        Assert.Equal(first.ToByteArray(), _encoder.Encode("img.a", [Record("i-b", port: 2), Record("i-a", port: 1)])!.ToByteArray());
    }

    private void AssertSameAsFresh(IReadOnlyList<InstanceRecord> records)
    {
        var fresh = EndpointSetBuilder.Build("img.a", records);
        var encoded = _encoder.Encode("img.a", records);
        Assert.NotNull(fresh);
        Assert.NotNull(encoded);
        Assert.Equal(fresh.ToByteArray(), encoded.ToByteArray());
    }

    private static InstanceRecord Record(string id, int port, int? weight = null, InstanceStatus status = InstanceStatus.Healthy, string image = "img.a")
    {
        var metadata = new Struct();
        if (weight is { } w)
        {
            metadata.Fields["weight"] = Value.ForNumber(w);
            metadata.Fields["zone"] = Value.ForString("z1");
        }
        var spec = new InstanceSpec(id, "svc", image, "10.0.0.1", port, "eu", InstanceSpec.Encode(metadata), 30);
        return new InstanceRecord(spec, status, Now, Now, Now.AddSeconds(30), status == InstanceStatus.Expired ? Now : null);
    }
}
