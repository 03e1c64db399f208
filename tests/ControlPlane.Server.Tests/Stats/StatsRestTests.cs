using System.Net;
using System.Text.Json;
using ControlPlane.Server.Tests.Policies;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>GET /v1/stats/images and /v1/stats/instances as curl sees them: JSON arrays of the reference's shape.</summary>
public sealed class StatsRestTests
{
    [Fact]
    public async Task ImageStats_AreAJsonArrayOfTheReferenceShape()
    {
        await using var host = await StatsHost.StartAsync();
        using (var stream = host.OpenReportStream())
        {
            await stream.SendAsync(Report("e1", 1, Image("img.video.svc", 480, bytesPerRequest: 25, errors4xx: 2, instances: ["i1", "i2"]), Image("img.audio.svc", 6)));
        }

        var body = await GetAsync(host, "/v1/stats/images?window=1m", HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal(["img.audio.svc", "img.video.svc"], body.EnumerateArray().Select(e => e.GetProperty("image").GetString()));
        var video = body[1];
        Assert.Equal(
            ["image", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"],
            video.EnumerateObject().Select(p => p.Name));
        Assert.Equal(8, video.GetProperty("rps_avg").GetDouble()); // 480 / 60 s, as in the reference's example
        Assert.Equal(12000, video.GetProperty("bytes_tx").GetInt64());
        Assert.Equal(480, video.GetProperty("req_count").GetInt64());
        Assert.Equal(2, video.GetProperty("errors_4xx").GetInt64());
        Assert.Equal(0, video.GetProperty("errors_5xx").GetInt64()); // zeros are written, as numbers
        Assert.InRange(video.GetProperty("latency_p50_ms").GetDouble(), 2.5, 5);

        var oneImage = await GetAsync(host, "/v1/stats/images?window=5m&image=img.audio.svc", HttpStatusCode.OK);
        Assert.Equal(6 / 300.0, oneImage.EnumerateArray().Single().GetProperty("rps_avg").GetDouble());
    }

    [Fact]
    public async Task InstanceStats_AreAJsonArray_FilteredByImage()
    {
        await using var host = await StatsHost.StartAsync();
        using (var stream = host.OpenReportStream())
        {
            await stream.SendAsync(Report("e1", 1, Image("img.video.svc", 9, instances: ["i1", "i2"]), Image("img.audio.svc", 6, instances: ["i7"])));
        }

        var body = await GetAsync(host, "/v1/stats/instances?image=img.video.svc&window=1h", HttpStatusCode.OK);
        Assert.Equal([("i1", 5L), ("i2", 4L)], body.EnumerateArray().Select(e => (e.GetProperty("instance_id").GetString(), e.GetProperty("req_count").GetInt64())));
        Assert.Equal(
            ["image", "instance_id", "rps_avg", "bytes_tx", "req_count", "errors_4xx", "errors_5xx", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"],
            body[0].EnumerateObject().Select(p => p.Name));
        Assert.Equal(5 / 3600.0, body[0].GetProperty("rps_avg").GetDouble());

        var all = await GetAsync(host, "/v1/stats/instances", HttpStatusCode.OK);
        Assert.Equal(3, all.GetArrayLength());
    }

    [Fact]
    public async Task NoTraffic_IsAnEmptyArray()
    {
        await using var host = await StatsHost.StartAsync();
        Assert.Equal("[]", (await GetAsync(host, "/v1/stats/images", HttpStatusCode.OK)).GetRawText());
        Assert.Equal("[]", (await GetAsync(host, "/v1/stats/instances?image=img.none", HttpStatusCode.OK)).GetRawText());
    }

    [Theory]
    [InlineData("/v1/stats/images?window=2m", "window")]
    [InlineData("/v1/stats/images?window=1M", "window")]
    [InlineData("/v1/stats/images?window=%00", "window")]
    [InlineData("/v1/stats/instances?window=60s", "window")]
    public async Task BadWindow_IsA400_NamingTheField(string path, string field)
    {
        await using var host = await StatsHost.StartAsync();
        var body = await GetAsync(host, path, HttpStatusCode.BadRequest);
        RestCalls.AssertError(body, 3, "invalid_request");
        Assert.Equal([field], RestCalls.ViolatedFields(body));
        Assert.Contains("1m, 5m or 1h", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverlongImageFilter_IsA400()
    {
        await using var host = await StatsHost.StartAsync();
        var body = await GetAsync(host, "/v1/stats/instances?image=" + new string('a', 300), HttpStatusCode.BadRequest);
        Assert.Equal(["image"], RestCalls.ViolatedFields(body));
    }

    private static async Task<JsonElement> GetAsync(StatsHost host, string path, HttpStatusCode expected) =>
        await RestCalls.JsonAsync(await host.Http.GetAsync(path).DefaultTimeout(), expected);
}
