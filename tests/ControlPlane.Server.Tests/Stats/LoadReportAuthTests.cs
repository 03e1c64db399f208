using ControlPlane.Api.Auth;
using ControlPlane.Grpc;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Discovery.Auth;
using ControlPlane.Server.Stats;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>ReportLoad is dataplane_only: with a dataplane token configured, only nodes presenting it may report.</summary>
public sealed class LoadReportAuthTests
{
    private const string NodeToken = "node-secret-51c0de";
    private const string AdminToken = "admin-secret-9e11a4";

    [Theory]
    [InlineData(null, StatusCode.Unauthenticated)]
    [InlineData("wrong-token", StatusCode.PermissionDenied)]
    [InlineData(AdminToken, StatusCode.PermissionDenied)]
    public async Task WithoutTheNodeToken_ReportsAreRefused_AndNotCounted(string? presented, StatusCode expected)
    {
        await using var host = await StatsHost.StartAsync(DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(AdminToken)));
        using var stream = host.OpenReportStream(token: presented);
        try
        {
            await stream.WriteAsync(Report("e1", 1, Image("img.a", 5)));
        }
        catch (RpcException)
        {
            // Refused before the first message was taken.
        }

        var status = await stream.WaitForEndAsync();
        Assert.Equal(expected, status.StatusCode);
        Assert.Equal("unauthorized", status.Reason());
        var totals = await host.Store.SumAsync(LoadScope.Images, host.Clock.GetUtcNow().AddHours(-1), host.Clock.GetUtcNow().AddSeconds(1), null).DefaultTimeout();
        Assert.Empty(totals);
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains(NodeToken, StringComparison.Ordinal) || l.Contains(AdminToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithTheNodeToken_ReportsAreCounted()
    {
        await using var host = await StatsHost.StartAsync(DataplaneToken.FromValue(NodeToken, PlatformToken.FromValue(AdminToken)));
        using var stream = host.OpenReportStream(token: NodeToken);
        Assert.Equal(1ul, (await stream.SendAsync(Report("e1", 1, Image("img.a", 5)))).AckedSequence);
    }

    [Fact]
    public async Task ANodesOwnToken_ReportsOnlyForThatNode()
    {
        var keys = DataplaneNodeTokens.FromKeys("report-node-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0", "test");
        await using var host = await StatsHost.StartAsync(DataplaneToken.FromValue(null, PlatformToken.FromValue(AdminToken), "test", keys));
        using (var impostor = host.OpenReportStream(nodeId: "node-b", token: keys.Issue("node-a")))
        {
            try
            {
                await impostor.WriteAsync(Report("e1", 1, Image("img.a", 5)));
            }
            catch (RpcException)
            {
                // Refused before the first message was taken.
            }
            var status = await impostor.WaitForEndAsync();
            Assert.Equal(StatusCode.PermissionDenied, status.StatusCode);
            Assert.Equal("unauthorized", status.Reason());
        }
        var now = host.Clock.GetUtcNow();
        Assert.Empty(await host.Store.SumAsync(LoadScope.Images, now.AddHours(-1), now.AddSeconds(1), null).DefaultTimeout());

        using var own = host.OpenReportStream(nodeId: "node-a", token: keys.Issue("node-a"));
        Assert.Equal(1ul, (await own.SendAsync(Report("e1", 1, Image("img.a", 5)))).AckedSequence);
        var totals = await host.Store.SumAsync(LoadScope.Images, now.AddHours(-1), now.AddSeconds(1), null).DefaultTimeout();
        Assert.Equal(5, Assert.Single(totals).Counts.Requests);
    }
}
