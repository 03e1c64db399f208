using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Tests.Policies;
using ControlPlane.Server.Tests.Stats;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Billing;

/// <summary>
/// POST /v1/billing/export as the billing-export-agent calls it: the reference's shape, valid
/// against contracts/lb_billing_export.schema.json, a checksum a consumer can verify from the bytes
/// it received, and windows that bill every accepted request exactly once.
/// </summary>
public sealed class BillingExportTests
{
    private static readonly Method<ExportBillingRequest, ExportBillingResponse> ExportMethod =
        new(BillingReflection.Descriptor.Services[0].FindMethodByName("ExportBilling"));

    [Fact]
    public async Task Export_HasTheReferenceShape_ValidatesAgainstTheSchema_AndItsChecksumIsVerifiable()
    {
        await ExportValidator.RequireAsync();
        await using var host = await StatsHost.StartAsync();
        using (var stream = host.OpenReportStream())
        {
            await stream.SendAsync(Report("e1", 1, Image("img.video.svc", 36000, bytesPerRequest: 3, errors4xx: 3, instances: ["i1"]), Image("_unknown", 2, errors4xx: 2)));
        }
        host.Clock.Advance(TimeSpan.FromSeconds(30));

        // curl -X POST "$AGENT_LB_BASE/v1/billing/export?window=1h": no body, no token.
        var (body, json) = await PostAsync(host, "/v1/billing/export?window=1h", HttpStatusCode.OK);

        Assert.Equal(["generated_at", "window", "schema_version", "images", "checksum", "window_start", "window_end"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2026-01-01T10:00:30Z", json.GetProperty("generated_at").GetString());
        Assert.Equal("1h", json.GetProperty("window").GetString());
        Assert.Equal("1.0", json.GetProperty("schema_version").GetString());
        Assert.Equal("2026-01-01T09:00:30Z", json.GetProperty("window_start").GetString());
        Assert.Equal("2026-01-01T10:00:30Z", json.GetProperty("window_end").GetString());
        var video = json.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("image").GetString() == "img.video.svc");
        Assert.Equal(["image", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx"], video.EnumerateObject().Select(p => p.Name));
        Assert.Equal(10, video.GetProperty("rps_avg").GetDouble()); // 36000 / 3600 s, as in the reference's example
        Assert.Equal(108000, video.GetProperty("bytes_tx").GetInt64());
        Assert.Equal(36000, video.GetProperty("req_count").GetInt64());
        Assert.Equal(3, video.GetProperty("errors_4xx").GetInt64());
        Assert.Equal(0, video.GetProperty("errors_5xx").GetInt64());

        // The consumer's check: SHA-256 of the received bytes without the checksum member.
        var checksum = json.GetProperty("checksum").GetString()!;
        var cut = Encoding.UTF8.GetString(body).Replace($",\"checksum\":\"{checksum}\"", "", StringComparison.Ordinal);
        Assert.Equal(checksum, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cut))));
        // And an independent one: python's jsonschema and hashlib.
        Assert.Null(await ExportValidator.ValidateAsync(body));
    }

    [Fact]
    public async Task TheSchemaCheck_CatchesABrokenExport()
    {
        await ExportValidator.RequireAsync();
        await using var host = await StatsHost.StartAsync();
        using (var stream = host.OpenReportStream())
        {
            await stream.SendAsync(Report("e1", 1, Image("img.a", 5)));
        }
        host.Clock.Advance(TimeSpan.FromSeconds(10)); // the window [now - 1h, now) holds the report's bucket
        var (body, _) = await PostAsync(host, "/v1/billing/export", HttpStatusCode.OK);
        Assert.Contains("\"req_count\":5", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        var text = Encoding.UTF8.GetString(body);

        // 64-bit integers as strings (protobuf's default JSON), a missing field, a changed count: each is caught.
        Assert.Contains("schema", await ExportValidator.ValidateAsync(Encoding.UTF8.GetBytes(text.Replace("\"req_count\":5", "\"req_count\":\"5\"", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("schema", await ExportValidator.ValidateAsync(Encoding.UTF8.GetBytes(text.Replace(",\"errors_5xx\":0", "", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Contains("checksum", await ExportValidator.ValidateAsync(Encoding.UTF8.GetBytes(text.Replace("\"req_count\":5", "\"req_count\":4", StringComparison.Ordinal))), StringComparison.Ordinal);
        Assert.Null(await ExportValidator.ValidateAsync(body));
    }

    [Fact]
    public async Task NoTraffic_IsAValidExportWithNoImages()
    {
        await ExportValidator.RequireAsync();
        await using var host = await StatsHost.StartAsync();
        var (body, json) = await PostAsync(host, "/v1/billing/export?window=5m", HttpStatusCode.OK);
        Assert.Equal(0, json.GetProperty("images").GetArrayLength());
        Assert.Null(await ExportValidator.ValidateAsync(body));
    }

    [Fact]
    public async Task HourlyExports_BillEveryRequestExactlyOnce()
    {
        await using var host = await StatsHost.StartAsync(); // the clock starts at 10:00:00
        long sent = 0;
        using (var stream = host.OpenReportStream())
        {
            for (ulong s = 1; s <= 100; s++)
            {
                await stream.SendAsync(Report("e1", s, Image("img.a", (long)s)));
                sent += (long)s;
                host.Clock.Advance(TimeSpan.FromSeconds(61)); // across bucket and hour edges
            }
        }
        // 100 reports from 10:00:00 to 11:40:39. At 12:00 (still within the 2 h retention of 10:00)
        // the hours [10:00, 11:00) and [11:00, 12:00) are exported.
        var noon = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        host.Clock.Advance(noon - host.Clock.GetUtcNow());
        var first = await ExportAsync(host, "1h", noon.AddHours(-1));
        var second = await ExportAsync(host, "1h", noon);
        var firstCount = first.Images.Single().ReqCount;
        Assert.Equal(Enumerable.Range(1, 60).Sum(), firstCount); // reports 1-60 arrived from 10:00:00 to 10:59:59
        Assert.Equal(sent, firstCount + second.Images.Single().ReqCount);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 10, 0, 0, TimeSpan.Zero), first.WindowStart.ToDateTimeOffset());
    }

    [Fact]
    public async Task AnEndInsideABucket_FallsBackToItsEdge_SoAWindowBillsTheSameTwice_AndTheNextOneTheRest()
    {
        await using var host = await StatsHost.StartAsync(); // 10:00:00
        using var stream = host.OpenReportStream();
        await stream.SendAsync(Report("e1", 1, Image("img.a", 100))); // the bucket of 10:00:00
        host.Clock.Advance(TimeSpan.FromSeconds(12));
        await stream.SendAsync(Report("e1", 2, Image("img.a", 7)));   // the bucket of 10:00:10, still filling

        var first = await ExportAsync(host, "1m", end: null);         // asked at 10:00:12
        host.Clock.Advance(TimeSpan.FromSeconds(3));
        await stream.SendAsync(Report("e1", 3, Image("img.a", 5)));   // 10:00:15, the same bucket
        var again = await ExportAsync(host, "1m", end: new DateTimeOffset(2026, 1, 1, 10, 0, 12, TimeSpan.Zero));
        host.Clock.Advance(TimeSpan.FromMinutes(2));
        var next = await ExportAsync(host, "1m", end: first.WindowEnd.ToDateTimeOffset().AddMinutes(1));

        var edge = new DateTimeOffset(2026, 1, 1, 10, 0, 10, TimeSpan.Zero);
        Assert.Equal(edge, first.WindowEnd.ToDateTimeOffset());
        Assert.Equal(edge, again.WindowEnd.ToDateTimeOffset());
        Assert.Equal(100, first.Images.Single().ReqCount);
        Assert.Equal(100, again.Images.Single().ReqCount); // the same window bills the same
        Assert.Equal(12, next.Images.Single().ReqCount); // the next window bills what came after: nothing lost
    }

    [Fact]
    public async Task AnEndTimeAtTheStartOfTime_IsANotAvailableWindow_NotA500()
    {
        await using var host = await StatsHost.StartAsync();
        var (_, json) = await PostAsync(host, "/v1/billing/export?window=1h&end_time=0001-01-01T00:00:00Z", HttpStatusCode.BadRequest);
        RestCalls.AssertError(json, 11, "window_unavailable");
    }

    [Fact]
    public async Task TheSameExport_OverGrpcAndRest_HasTheSameChecksum()
    {
        await using var host = await StatsHost.StartAsync();
        using (var stream = host.OpenReportStream())
        {
            await stream.SendAsync(Report("e1", 1, Image("img.a", 7), Image("img.b", 1, errors5xx: 1)));
        }
        host.Clock.Advance(TimeSpan.FromSeconds(10));
        var end = host.Clock.GetUtcNow();
        host.Clock.Advance(TimeSpan.FromSeconds(1));

        var grpc = await ExportAsync(host, "5m", end);
        var (_, rest) = await PostAsync(host, $"/v1/billing/export?window=5m&end_time={end:yyyy-MM-ddTHH:mm:ssZ}", HttpStatusCode.OK);
        Assert.Equal(64, grpc.Checksum.Length);
        Assert.Equal(grpc.Checksum, rest.GetProperty("checksum").GetString());
        Assert.Equal(8, grpc.Images.Sum(i => i.ReqCount));
    }

    [Theory]
    [InlineData("/v1/billing/export?window=2h", 3, "invalid_request")]
    [InlineData("/v1/billing/export?window=1h&end_time=2026-01-01T10:00:01Z", 11, "window_unavailable")] // not over yet
    [InlineData("/v1/billing/export?window=1h&end_time=2026-01-01T08:30:00Z", 11, "window_unavailable")] // older than the retention
    [InlineData("/v1/billing/export?window=1h&end_time=yesterday", 3, "invalid_request")]
    public async Task BadQueries_AreClear400s(string path, int code, string reason)
    {
        await using var host = await StatsHost.StartAsync(); // now 10:00:00; 2 h retention
        var (_, json) = await PostAsync(host, path, HttpStatusCode.BadRequest);
        RestCalls.AssertError(json, code, reason);
    }

    private static async Task<(byte[] Body, JsonElement Json)> PostAsync(StatsHost host, string path, HttpStatusCode expected)
    {
        using var response = await host.Http.PostAsync(path, content: null).DefaultTimeout();
        var body = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return (body, JsonDocument.Parse(body).RootElement.Clone());
    }

    private static async Task<ExportBillingResponse> ExportAsync(StatsHost host, string window, DateTimeOffset? end)
    {
        var request = new ExportBillingRequest { Window = window, EndTime = end is { } e ? Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(e) : null };
        return await host.Channel.AsyncUnaryCall(ExportMethod, request).ResponseAsync.DefaultTimeout();
    }
}
