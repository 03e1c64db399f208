using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Tests.Forwarder;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>/healthz, /readyz, /version and /metrics on the proxy port.</summary>
public sealed class OpsEndpointsTests
{
    [Fact]
    public async Task Readyz_IsNotReady_UntilAConfigurationIsHeld()
    {
        await using var node = await DataplaneFixture.StartAsync();
        using var client = node.CreateClient();

        using var before = await client.GetAsync("/readyz").DefaultTimeout();
        node.Config.Update();
        using var after = await client.GetAsync("/readyz").DefaultTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal("not_ready: no configuration yet", await before.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("ok", await after.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal("ok", await client.GetStringAsync("/healthz").DefaultTimeout());
    }

    [Fact]
    public async Task Version_NamesTheDataplane()
    {
        await using var node = await DataplaneFixture.StartAsync();
        using var client = node.CreateClient();

        var version = await client.GetFromJsonAsync<JsonElement>("/version").DefaultTimeout();

        Assert.Equal("dataplane", version.GetProperty("name").GetString());
        foreach (var field in new[] { "version", "git_sha", "build_time", "started_at" })
        {
            Assert.False(string.IsNullOrEmpty(version.GetProperty(field).GetString()), field);
        }
    }

    [Fact]
    public async Task Metrics_CountRequestsUpstreamLatencyRetriesAndEjections()
    {
        await using var live = await TestBackend.StartAsync("live");
        await using var node = await DataplaneFixture.StartAsync(null, "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead", ErrorAnswerTests.ClosedPort()));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("live", live.Port));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateClient();
        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("/g/img/x").DefaultTimeout()).Dispose();
        }
        (await client.GetAsync("/g/img/status/404").DefaultTimeout()).Dispose();
        (await client.GetAsync("/g/nope/x").DefaultTimeout()).Dispose();

        var text = await client.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("controlplane_dataplane_requests_total{image=\"img\",status_class=\"2xx\"} 4", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_requests_total{image=\"img\",status_class=\"4xx\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_requests_total{image=\"_unknown\",status_class=\"4xx\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_retries_total{image=\"img\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_ejections_total{image=\"img\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_upstream_duration_seconds_bucket{image=\"img\",status_class=\"2xx\",le=\"+Inf\"} 4", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_config_revision 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_dataplane_config_images 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promtool_FindsNoProblemInTheNodesExposition()
    {
        var promtool = ExternalTools.Require(Promtool.Binary, "apt-get install prometheus");
        await using var live = await TestBackend.StartAsync("live");
        await using var node = await DataplaneFixture.StartAsync();
        node.Config.Update(new ImageConfig("img", DataplaneFixture.EndpointsOf("img", live)));
        using var client = node.CreateClient();
        (await client.GetAsync("/g/img/x").DefaultTimeout()).Dispose();
        (await client.GetAsync("/g/nope/x").DefaultTimeout()).Dispose();
        var text = await client.GetStringAsync("/metrics").DefaultTimeout();

        var result = await Promtool.CheckMetricsAsync(promtool, text);

        Assert.True(result.ExitCode == 0 && result.Problems.Count == 0, result.ToString());
        Assert.Contains("controlplane_dataplane_requests_total{image=\"img\",status_class=\"2xx\"} 1", text, StringComparison.Ordinal);
    }
}
