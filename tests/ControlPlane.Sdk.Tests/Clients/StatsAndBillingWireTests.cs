using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Server;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// StatsService and BillingService are served by the control plane only once their server side
/// lands (another branch); until then their typed clients are checked against a stand-in server
/// bound from the same descriptors: the right method paths and message types on the wire.
/// </summary>
public sealed class StatsAndBillingWireTests
{
    [Fact]
    public async Task StatsAndBillingClients_CallTheirMethods()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = s => s.AddSingleton<StatsStandIn>().AddSingleton<BillingStandIn>(),
            Map = app =>
            {
                app.MapGrpcService<StatsStandIn>(StatsReflection.Descriptor.Services[0]);
                app.MapGrpcService<BillingStandIn>(BillingReflection.Descriptor.Services[0]);
            },
        });
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(server.Address);
        using var client = ControlPlaneClient.Create(options);

        var images = await client.Stats.GetImageStatsAsync(new GetImageStatsRequest { Window = "5m" }).DefaultTimeout();
        var instances = await client.Stats.GetInstanceStatsAsync(new GetInstanceStatsRequest { Image = "img.s", Window = "1h" }).DefaultTimeout();
        var export = await client.Billing.ExportBillingAsync(new ExportBillingRequest { Window = "1h" }).DefaultTimeout();

        Assert.Equal(("5m", 480), (images.Window, images.Images.Single().ReqCount));
        Assert.Equal(("img.s", "1h"), (instances.Instances.Single().Image, instances.Window));
        Assert.Equal(("1h", "1.0"), (export.Window, export.SchemaVersion));
    }

    private sealed class StatsStandIn
    {
        public Task<GetImageStatsResponse> GetImageStats(GetImageStatsRequest request, ServerCallContext context) =>
            Task.FromResult(new GetImageStatsResponse { Window = request.Window, Images = { new ImageStats { Image = "img.s", ReqCount = 480 } } });

        public Task<GetInstanceStatsResponse> GetInstanceStats(GetInstanceStatsRequest request, ServerCallContext context) =>
            Task.FromResult(new GetInstanceStatsResponse { Window = request.Window, Instances = { new InstanceStats { Image = request.Image, InstanceId = "i1" } } });
    }

    private sealed class BillingStandIn
    {
        public Task<ExportBillingResponse> ExportBilling(ExportBillingRequest request, ServerCallContext context) =>
            Task.FromResult(new ExportBillingResponse { Window = request.Window, SchemaVersion = "1.0", GeneratedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch) });
    }
}
