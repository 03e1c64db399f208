using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Tests.Registry;

namespace ControlPlane.Server.Tests.Ops;

/// <summary>A real Prometheus server scrapes the control plane's /metrics and can query what it serves.</summary>
public sealed class PrometheusScrapeTests
{
    private const string Job = "controlplane";

    [Fact]
    public async Task Prometheus_ScrapesTheControlPlane_AndQueriesRegistryAndRpcMetrics()
    {
        ExternalTools.Require(PrometheusServer.Binary, "apt-get install prometheus");
        await using var host = await ControlPlaneFixture.StartAsync();
        using var channel = host.CreateChannel();
        var register = new Method<RegisterRequest, RegisterResponse>(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));
        for (var i = 0; i < 3; i++)
        {
            await channel.AsyncUnaryCall(register, RegistryTestBed.Instance("i" + i, port: 8080 + i)).ResponseAsync.DefaultTimeout();
        }

        await using var prometheus = await PrometheusServer.StartAsync(host.Http, Job);
        var target = await prometheus.WaitForHealthyTargetAsync(Job);
        Assert.Equal("up", target.GetProperty("health").GetString());

        Assert.Equal(3, await prometheus.WaitForValueAsync("controlplane_registry_instances{status=\"healthy\"}", v => v == 3));
        Assert.Equal(3, await prometheus.WaitForValueAsync(
            "sum(rpc_server_calls_total{rpc_service=\"controlplane.v1.RegistryService\",rpc_method=\"Register\",rpc_grpc_status_code=\"OK\"})", v => v == 3));
        var p99 = await prometheus.WaitForValueAsync(
            "histogram_quantile(0.99, sum by (le) (rpc_server_duration_seconds_bucket{rpc_method=\"Register\"}))", v => !double.IsNaN(v));
        Assert.InRange(p99, 0, 10);
    }
}
