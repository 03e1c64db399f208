using ControlPlane.Dataplane.Reporting;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>What an operator scrapes to see that load reports are not getting through.</summary>
public sealed class ReportingMetricsTests
{
    [Fact]
    public async Task ReportsNoControlPlaneAcknowledged_AreCountedAsPending()
    {
        await using var node = await DataplaneFixture.StartAsync(
            null,
            "--Dataplane:ControlPlanes:0=http://127.0.0.1:1", // nothing listens on a privileged port
            "--Dataplane:NodeId=node-pending");
        using var http = node.CreateClient();
        var reporter = node.Services.GetRequiredService<LoadReporter>();

        var before = await http.GetStringAsync("/metrics").DefaultTimeout();
        // No control plane answers: the node holds no config and says so, and that answer is counted.
        using var answer = await http.GetAsync("/g/img/x").DefaultTimeout();
        reporter.CloseInterval();
        reporter.CloseInterval();
        var after = await http.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Equal(0, MetricSamples.Get(before, "controlplane_dataplane_load_reports_pending"));
        Assert.Equal(reporter.PendingCount, (int)MetricSamples.Get(after, "controlplane_dataplane_load_reports_pending"));
        Assert.True(reporter.PendingCount >= 1, $"pending {reporter.PendingCount}");
        Assert.Contains("# TYPE controlplane_dataplane_load_reports_pending gauge", after, StringComparison.Ordinal);
        // Nothing refused, nothing set aside; the counter is there to alert on.
        Assert.Contains("# TYPE controlplane_dataplane_load_reports_set_aside_total counter", after, StringComparison.Ordinal);
        Assert.Equal(0, MetricSamples.Get(after, "controlplane_dataplane_load_reports_set_aside_total"));
    }
}
