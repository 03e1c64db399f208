using System.Net;
using ControlPlane.Grpc.Tests.Transcoding.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>The JSON REST clients get: proto names, every default, 64-bit numbers, proto3 JSON well-known types.</summary>
public sealed class ResponseJsonTests
{
    [Fact]
    public async Task DefaultsArePresent_UnsetMessagesAndOptionalsAreNot()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = (_, _) => Task.FromResult(new Item());
        var item = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(
            """{"name":"","port":0,"big":0,"ubig":0,"enabled":false,"weight":0,"ratio":0,"blob":"","state":"STATE_UNSPECIFIED","tags":[],"ids":[],"labels":{},"pages":[],"delta":0,"checksum":0,"pages_by_id":{},"states":[],"count":0}""",
            item.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task EveryFieldKind_InProtoNames_WithInt64AsNumbers()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = (_, _) => Task.FromResult(new Item
        {
            Name = "img.video.svc <é>",
            Port = -1,
            Big = long.MinValue,
            Ubig = ulong.MaxValue,
            Enabled = true,
            Weight = double.NaN,
            Ratio = 0.1f,
            Blob = ByteString.CopyFrom(0, 255),
            State = (State)42,
            Ids = { 9007199254740993 },
            Labels = { ["b"] = "2", ["a"] = "1" },
            PagesById = { [-3] = new Page { Size = 1 } },
            Delta = -9007199254740993,
            Checksum = 18446744073709551615,
            Maybe = 0,
            ChoiceText = "c",
            CreatedAt = new Timestamp { Seconds = 1755426030, Nanos = 123_456_000 },
            Ttl = new Duration { Seconds = -1, Nanos = -500_000_000 },
            MaxRps = 9007199254740993,
            Note = "",
            Flag = false,
            Mask = new FieldMask { Paths = { "page.cursor_offset", "created_at" } },
            Anything = Value.ForList(Value.ForNumber(1.5), Value.ForNull(), Value.ForString("s")),
            Nothing = new Empty(),
            Extra = Any.Pack(new Duration { Seconds = 3 }),
        });
        var item = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("img.video.svc <é>", (string?)item["name"]);
        Assert.Equal("-9223372036854775808", item["big"]!.ToJsonString());
        Assert.Equal("18446744073709551615", item["ubig"]!.ToJsonString());
        Assert.Equal("\"NaN\"", item["weight"]!.ToJsonString());
        Assert.Equal("0.1", item["ratio"]!.ToJsonString());
        Assert.Equal("AP8=", (string?)item["blob"]);
        Assert.Equal("42", item["state"]!.ToJsonString());
        Assert.Equal("[9007199254740993]", item["ids"]!.ToJsonString());
        Assert.Equal("""{"b":"2","a":"1"}""", item["labels"]!.ToJsonString());
        Assert.Equal(1, (int)item["pages_by_id"]!["-3"]!["size"]!);
        Assert.Equal("-9007199254740993", item["delta"]!.ToJsonString());
        Assert.Equal("18446744073709551615", item["checksum"]!.ToJsonString());
        Assert.Equal("0", item["maybe"]!.ToJsonString());
        Assert.Equal("c", (string?)item["choice_text"]);
        Assert.Null(item["choice_number"]);
        Assert.Equal("2025-08-17T10:20:30.123456Z", (string?)item["created_at"]);
        Assert.Equal("-1.500s", (string?)item["ttl"]);
        Assert.Equal("9007199254740993", item["max_rps"]!.ToJsonString());
        Assert.Equal("\"\"", item["note"]!.ToJsonString());
        Assert.Equal("false", item["flag"]!.ToJsonString());
        Assert.Equal("page.cursorOffset,createdAt", (string?)item["mask"]);
        Assert.Equal("""[1.5,null,"s"]""", item["anything"]!.ToJsonString());
        Assert.Equal("{}", item["nothing"]!.ToJsonString());
        Assert.Equal("""{"@type":"type.googleapis.com/google.protobuf.Duration","value":"3s"}""", item["extra"]!.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Timestamp_IsRfc3339Utc_WithFractionOnlyWhenNonZero()
    {
        await using var rest = await RestTestServer.StartAsync();
        var seconds = 1755426030L;
        foreach (var (nanos, expected) in new[] { (0, "2025-08-17T10:20:30Z"), (5_000_000, "2025-08-17T10:20:30.005Z"), (1, "2025-08-17T10:20:30.000000001Z") })
        {
            rest.Hooks.Echo = (_, _) => Task.FromResult(new Item { CreatedAt = new Timestamp { Seconds = seconds, Nanos = nanos } });
            var item = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
            Assert.Equal(expected, (string?)item["created_at"]);
        }
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task StructMetadata_RoundTrips()
    {
        await using var rest = await RestTestServer.StartAsync();
        var metadata = """{"owner":"ops","replicas":3,"ratio":0.5,"tags":["a",{"deep":[true,false,null]}],"empty":{}}""";
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", $$"""{"metadata": {{metadata}}}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(metadata, item["metadata"]!.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ResponseBody_AnswersThatFieldOnly_AnArrayForARepeatedField()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.ListImages = (request, _) => Task.FromResult(new ListImagesResponse
        {
            Images =
            {
                new ImageStats { Image = "img.video.svc", RpsAvg = 12.5, BytesTx = 9007199254740993 },
                new ImageStats { Image = "img.audio.svc" },
            },
        });
        var images = await (await rest.GetAsync("/v1/stats/images?window=1m")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(
            """[{"image":"img.video.svc","rps_avg":12.5,"bytes_tx":9007199254740993},{"image":"img.audio.svc","rps_avg":0,"bytes_tx":0}]""",
            images.ToJsonString());

        rest.Hooks.ListImages = (_, _) => Task.FromResult(new ListImagesResponse());
        var none = await (await rest.GetAsync("/v1/stats/images")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("[]", none.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ResponseHeadersAndTrailers_BecomeResponseHeaders()
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = async (request, context) =>
        {
            await context.WriteResponseHeadersAsync(new Metadata().Add("x-request-id", "r-1"));
            context.ResponseTrailers.Add("x-served-by", "node-a").Add("x-raw-bin", [0, 255]);
            return request;
        };
        using var response = await rest.GetAsync("/v1/items/x");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("r-1", response.Headers.GetValues("x-request-id").Single());
        Assert.Equal("node-a", response.Headers.GetValues("x-served-by").Single());
        Assert.Equal("AP8", response.Headers.GetValues("x-raw-bin").Single());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AnyOfAnUnknownTypeOrBadBytes_IsWrittenAsItsBytes_NotAFailedResponse()
    {
        // An Any can come from a peer (a node's NACK details): it must never make a response unreadable.
        await using var rest = await RestTestServer.StartAsync();
        var bytes = Google.Protobuf.ByteString.CopyFrom(1, 2, 3);
        rest.Hooks.Echo = (_, _) => Task.FromResult(new Item { Extra = new Any { TypeUrl = "type.googleapis.com/nope.Nope", Value = bytes } });
        var unknown = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("type.googleapis.com/nope.Nope", (string?)unknown["extra"]!["@type"]);
        Assert.Equal("AQID", (string?)unknown["extra"]!["value"]);

        rest.Hooks.Echo = (_, _) => Task.FromResult(new Item { Extra = new Any { TypeUrl = "type.googleapis.com/google.protobuf.Duration", Value = Google.Protobuf.ByteString.CopyFrom(0xFF) } });
        var garbled = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("/w==", (string?)garbled["extra"]!["value"]);
        rest.Server.AssertNoUnexpectedErrors();
    }
}
