using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Discovery inside the real control-plane host: its interceptors, its metrics endpoint, the registry's signals.</summary>
public sealed class HostWiringTests
{
    private static readonly Method<RegisterRequest, RegisterResponse> Register = new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    [Fact]
    public async Task InTheHost_ARegistrationOverGrpc_ReachesANode_AndTheDiscoveryMetricsAreExported()
    {
        var logs = new TestLogSink();
        // AddDiscovery here and in ControlPlaneHost (once wired) is one registration: the second call is a no-op.
        await using var app = ControlPlaneHost.Build(
            ["--ControlPlane:GrpcPort=0", "--ControlPlane:HttpPort=0", "--ControlPlane:BindAddress=127.0.0.1", "--Logging:Console:LogLevel:Default=None", "--ControlPlane:Discovery:ControlPlaneId=cp-host"],
            builder =>
            {
                builder.Logging.AddProvider(logs);
                builder.Services.AddDiscovery(builder.Configuration);
            });
        if (!app.Services.GetRequiredService<GrpcServiceRegistry>().Contains(DiscoveryReflection.Descriptor.Services[0].FullName))
        {
            app.MapDiscovery();
        }
        await app.StartAsync().DefaultTimeout();
        try
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToArray();
            using var channel = GrpcChannel.ForAddress(addresses[0]);
            var cache = app.Services.GetRequiredService<IResourceWatch>();
            await cache.WhenWarm.DefaultTimeout();
            Assert.Equal("cp-host", app.Services.GetRequiredService<DiscoveryOptions>().ControlPlaneId);

            await using var node = await FakeDeltaNode.ConnectAsync(channel, "node-1");
            await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
            await node.WaitUntilAsync(() => node.ResponsesOnStream(ResourceTypes.EndpointSet) == 1, "the first answer");
            await channel.AsyncUnaryCall(Register, new RegisterRequest { InstanceId = "i1", Name = "video-svc", Image = "img.video.svc", Host = "10.0.0.5", Port = 8080, TtlSeconds = 30 }).ResponseAsync.DefaultTimeout();
            await node.WaitUntilAsync(() => node.Endpoints("img.video.svc") is { Endpoints.Count: 1 }, "the endpoint set");
            Assert.Equal("cp-host", node.Received[^1].ControlPlaneId);

            using var http = new HttpClient { BaseAddress = new Uri(addresses[1]) };
            var metrics = await http.GetStringAsync("/metrics").DefaultTimeout();
            Assert.Contains("controlplane_discovery_pushes_total{type=\"EndpointSet\",variant=\"delta\"} 2", metrics, StringComparison.Ordinal);
            Assert.Contains("controlplane_discovery_streams{variant=\"delta\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("# TYPE controlplane_discovery_push_latency_seconds histogram", metrics, StringComparison.Ordinal);
            node.AssertNoViolations();
            Assert.Contains(logs.Records, r => r.EventId.Id == 4015); // the dataplane token check is in the pipeline (open: no token set)
            Assert.Empty(logs.Errors);
        }
        finally
        {
            await app.StopAsync().DefaultTimeout();
        }
    }
}
