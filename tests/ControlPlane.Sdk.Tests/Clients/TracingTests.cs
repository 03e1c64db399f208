using System.Diagnostics;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Tests.Infrastructure;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>A call made while serving a request carries that request's X-Request-ID and trace to the control plane.</summary>
public sealed class TracingTests : IAsyncLifetime
{
    private const string Token = "sdk-tracing-token";
    private TestControlPlane _host = null!;

    public async ValueTask InitializeAsync() => _host = await TestControlPlane.StartAsync(platformToken: Token);

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task RequestIdAndTraceparent_OfTheCurrentActivity_ReachTheServerAndItsAuditTrail()
    {
        using var client = _host.CreateClient(o => o.AgentName = "lb-policy-agent", environment: n => n == "PLATFORM_TOKEN" ? Token : null);
        // What lib/ControlPlane.Hosting's request-id middleware leaves on the activity of a request being served.
        using var activity = new Activity("agent-request").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.SetTag("request_id", "req-from-agent-42");

        await client.Policies.SetPolicyAsync(new SetPolicyRequest { Image = "img.trace", Algorithm = "round_robin", Reason = "test" }).DefaultTimeout();

        var call = Assert.Single(_host.Calls.Of("SetPolicy"));
        Assert.Equal("req-from-agent-42", call.Headers["x-request-id"]);
        Assert.Contains(activity.TraceId.ToHexString(), call.Headers["traceparent"], StringComparison.Ordinal);
        var change = Assert.Single((await client.Policies.ListPolicyChangesAsync(new ListPolicyChangesRequest { Image = "img.trace" }).DefaultTimeout()).Changes);
        Assert.Equal(("req-from-agent-42", "lb-policy-agent"), (change.RequestId, change.Actor));
    }

    [Fact]
    public async Task WithoutAnActivity_EachCallGetsItsOwnRequestId()
    {
        using var client = _host.CreateClient();
        Activity.Current = null;

        await client.Registry.GetTopologyAsync(new GetTopologyRequest()).DefaultTimeout();
        await client.Registry.GetTopologyAsync(new GetTopologyRequest()).DefaultTimeout();

        var ids = _host.Calls.Of("GetTopology").Select(c => c.Headers["x-request-id"]).ToList();
        Assert.Equal(2, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
    }
}
