using ControlPlane.Api.V1;
using ControlPlane.Sdk.Tests.Infrastructure;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// The load-report stream, stats and billing clients against the real control plane: what a node
/// reports over <c>ReportLoad</c> is what the stats window and the billing export show.
/// </summary>
public sealed class LoadStatsBillingTests : IAsyncLifetime
{
    private TestControlPlane _host = null!;
    private ControlPlaneClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await TestControlPlane.StartAsync();
        _client = _host.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ReportedLoad_ShowsInImageStats_InstanceStats_AndTheBillingExport()
    {
        var now = DateTimeOffset.UtcNow;
        using (var stream = _client.LoadReports.OpenReportStream())
        {
            var report = new ReportLoadRequest
            {
                Node = new Node { Id = "sdk-reporter" },
                Epoch = Guid.NewGuid().ToString("N"),
                Sequence = 1,
                IntervalStart = Timestamp.FromDateTimeOffset(now.AddSeconds(-10)),
                IntervalEnd = Timestamp.FromDateTimeOffset(now),
                Images =
                {
                    new ImageLoad
                    {
                        Image = "img.stats", ReqCount = 480, BytesTx = 12000, Errors4Xx = 2,
                        Instances = { new InstanceLoad { InstanceId = "s1", ReqCount = 480, BytesTx = 12000, Errors4Xx = 2 } },
                    },
                },
            };
            await stream.Call.RequestStream.WriteAsync(report).DefaultTimeout();
            Assert.True(await stream.Call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal((report.Epoch, 1ul), (stream.Call.ResponseStream.Current.Epoch, stream.Call.ResponseStream.Current.AckedSequence));
            await stream.Call.RequestStream.CompleteAsync().DefaultTimeout();
        }

        var images = await _client.Stats.GetImageStatsAsync(new GetImageStatsRequest { Window = "1m" }).DefaultTimeout();
        var image = Assert.Single(images.Images);
        Assert.Equal(("img.stats", 480, 12000, 2), (image.Image, image.ReqCount, image.BytesTx, image.Errors4Xx));
        var instances = await _client.Stats.GetInstanceStatsAsync(new GetInstanceStatsRequest { Image = "img.stats", Window = "5m" }).DefaultTimeout();
        Assert.Equal(("s1", 480), (Assert.Single(instances.Instances).InstanceId, instances.Instances[0].ReqCount));
        // An export ends on a whole second and bills the buckets that start before it: a report counted
        // in a bucket that began within the current second is billed once that second has passed.
        ExportBillingResponse export = null!;
        await Eventually.WaitAsync("the report in a billing export", async () =>
        {
            export = await _client.Billing.ExportBillingAsync(new ExportBillingRequest { Window = "1h" }).DefaultTimeout();
            return export.Images.Count > 0;
        });
        Assert.Equal(("1h", "1.0"), (export.Window, export.SchemaVersion));
        Assert.Equal(480, Assert.Single(export.Images).ReqCount);
        Assert.Matches("^[0-9a-f]{64}$", export.Checksum);

        var invalid = await Assert.ThrowsAsync<ControlPlaneException>(() => _client.Stats.GetImageStatsAsync(new GetImageStatsRequest { Window = "2m" })).DefaultTimeout();
        Assert.Equal(Grpc.StatusCode.InvalidArgument, invalid.StatusCode);
    }
}
