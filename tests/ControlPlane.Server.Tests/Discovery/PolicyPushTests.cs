using System.Net.Http.Headers;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using ControlPlane.Server.Tests.Ops;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>End to end on the real host: a policy set over REST with the admin token reaches a subscribed node, and its deletion is an explicit removal.</summary>
public sealed class PolicyPushTests
{
    private const string Token = "push-test-token";
    private static readonly string Policies = ResourceTypes.RoutingPolicy;

    [Fact]
    public async Task PolicySetOverRest_IsPushed_AndItsDeletionIsRemoved()
    {
        await using var host = await ControlPlaneFixture.StartWithTokenAsync(Token);
        using var channel = host.CreateChannel();
        using var http = host.CreateHttpClient();
        var cache = host.Services.GetRequiredService<IResourceWatch>();
        await using var node = await FakeDeltaNode.ConnectAsync(channel, "node-1");
        await node.SubscribeAsync(Policies, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Policies) >= 1, "the first answer");

        using (var put = new HttpRequestMessage(HttpMethod.Put, "/v1/policy/img.video.svc"))
        {
            put.Headers.Add("X-Platform-Token", Token);
            put.Content = new StringContent("""{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1},"sticky_key":null}""", Encoding.UTF8);
            put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.SendAsync(put).DefaultTimeout();
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        await node.WaitUntilAsync(() => node.Versions(Policies).ContainsKey("img.video.svc"), "the policy");
        var pushed = RoutingPolicy.Parser.ParseFrom(node.Received[^1].Resources.Single(r => r.Name == "img.video.svc").Resource_.Value);
        Assert.Equal("weighted_rr", pushed.Algorithm);
        Assert.Equal(2, pushed.Weights["i1"]);
        Assert.True(node.HoldsCurrent(cache, Policies));

        using (var delete = new HttpRequestMessage(HttpMethod.Delete, "/v1/policy/img.video.svc"))
        {
            delete.Headers.Add("X-Platform-Token", Token);
            using var response = await http.SendAsync(delete).DefaultTimeout();
            Assert.True(response.IsSuccessStatusCode);
        }
        await node.WaitUntilAsync(() => !node.Versions(Policies).ContainsKey("img.video.svc"), "the removal");
        Assert.Contains("img.video.svc", node.Received[^1].RemovedResources);
        node.AssertNoViolations();
    }
}
