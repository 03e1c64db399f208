using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Tests.Registry;

namespace ControlPlane.Server.Tests.Ops;

public sealed class MetricsTests
{
    private static readonly Method<RegisterRequest, RegisterResponse> Register = new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));
    private static readonly Method<HeartbeatRequest, HeartbeatResponse> Heartbeat = new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Heartbeat"));

    [Fact]
    public async Task Metrics_ShowRegistryAndRpcInstruments_InPrometheusFormat()
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var channel = host.CreateChannel();
        await channel.AsyncUnaryCall(Register, RegistryTestBed.Instance("i1", port: 8080)).ResponseAsync.DefaultTimeout();
        await channel.AsyncUnaryCall(Heartbeat, new HeartbeatRequest { InstanceId = "i1" }).ResponseAsync.DefaultTimeout();
        await Assert.ThrowsAsync<ControlPlane.Grpc.RpcException>(() => channel.AsyncUnaryCall(Heartbeat, new HeartbeatRequest { InstanceId = "ghost" }).ResponseAsync).DefaultTimeout();

        using var http = host.CreateHttpClient();
        using var response = await http.GetAsync("/metrics").DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();

        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Contains("controlplane_registry_registrations_total{result=\"created\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_registry_heartbeats_total{result=\"renewed\",transport=\"unary\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_registry_heartbeats_total{result=\"not_found\",transport=\"unary\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_registry_instances{status=\"healthy\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_registry_self_preservation 0", text, StringComparison.Ordinal);
        Assert.Contains("rpc_server_calls_total{rpc_grpc_status_code=\"NOT_FOUND\",rpc_method=\"Heartbeat\",rpc_service=\"controlplane.v1.RegistryService\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("rpc_server_duration_seconds_bucket{rpc_grpc_status_code=\"OK\",rpc_method=\"Register\",rpc_service=\"controlplane.v1.RegistryService\",le=\"+Inf\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE kestrel_active_connections gauge", text, StringComparison.Ordinal);
        // Kestrel's buffer pool: what it holds idle between bursts, and what it gave back.
        Assert.Contains("aspnetcore_memory_pool_pooled_bytes{aspnetcore_memory_pool_owner=\"kestrel\"}", text, StringComparison.Ordinal);
        Assert.Contains("aspnetcore_memory_pool_rented_bytes_total{aspnetcore_memory_pool_owner=\"kestrel\"}", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpRouteLabels_AreTheDocumentedTemplates_NotPlaceholdersOrRawPaths()
    {
        await using var host = await ControlPlaneFixture.StartAsync();
        using var http = host.CreateHttpClient();
        (await http.GetAsync("/v1/services/video-svc/instances").DefaultTimeout()).Dispose();
        (await http.PutAsync("/v1/services/i-77/heartbeat", null).DefaultTimeout()).Dispose();
        (await http.GetAsync("/v1/policy/img.video.svc/changes").DefaultTimeout()).Dispose();

        var text = await http.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("http_route=\"/v1/services/{name}/instances\"", text, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/v1/services/{instance_id}/heartbeat\"", text, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/v1/policy/{image}/changes\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{__p", text, StringComparison.Ordinal);
        Assert.DoesNotContain("video-svc", text, StringComparison.Ordinal);
        Assert.DoesNotContain("i-77", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_FindsNoProblemInTheControlPlanesExposition()
    {
        var promtool = ExternalTools.Require(Promtool.Binary, "apt-get install prometheus");
        await using var host = await ControlPlaneFixture.StartAsync();
        using var channel = host.CreateChannel();
        await channel.AsyncUnaryCall(Register, RegistryTestBed.Instance("i1", port: 8080)).ResponseAsync.DefaultTimeout();
        using var http = host.CreateHttpClient();
        (await http.GetAsync("/v1/services/video-svc/instances").DefaultTimeout()).Dispose();
        var text = await http.GetStringAsync("/metrics").DefaultTimeout();

        var result = await Promtool.CheckMetricsAsync(promtool, text);

        Assert.True(result.ExitCode == 0 && result.Problems.Count == 0, result.ToString());
        Assert.Contains("# TYPE dotnet_assemblies_loaded gauge", text, StringComparison.Ordinal);
    }
}
