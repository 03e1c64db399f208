using System.Net;
using System.Net.Sockets;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Reporting;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// The proxy feeds the recorder once per answered request, with the status and body bytes the
/// client got: per image always (the node's own answers included), per instance when forwarded.
/// </summary>
public sealed class ProxyCountingTests
{
    [Fact]
    public async Task EveryAnsweredRequest_IsCountedOnce_WithTheBytesTheClientReceived()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        var dead = new EndpointSet { Image = "img.dead" };
        dead.Endpoints.Add(DataplaneFixture.EndpointOf("gone", ClosedPort()));
        node.Config.Update(
            new ImageConfig("img.a", DataplaneFixture.EndpointsOf("img.a", backend)),
            new ImageConfig("img.empty", new EndpointSet { Image = "img.empty" }),
            new ImageConfig("img.dead", dead));
        var recorder = node.Services.GetRequiredService<LoadRecorder>();
        recorder.Collect(); // start from an empty interval
        using var client = node.CreateClient();

        var received = new Dictionary<string, long>();
        async Task SendAsync(string path, HttpStatusCode expected, string image)
        {
            using var response = await client.GetAsync(path).DefaultTimeout();
            Assert.Equal(expected, response.StatusCode);
            var body = await response.Content.ReadAsByteArrayAsync().DefaultTimeout();
            received[image] = received.GetValueOrDefault(image) + body.Length;
        }
        for (var i = 0; i < 3; i++)
        {
            await SendAsync($"/g/img.a/ok/{i}", HttpStatusCode.OK, "img.a");
        }
        await SendAsync("/g/img.a/status/404", HttpStatusCode.NotFound, "img.a");
        await SendAsync("/g/img.a/status/503", HttpStatusCode.ServiceUnavailable, "img.a");
        await SendAsync("/g/no.such.image/x", HttpStatusCode.NotFound, "_unknown");
        await SendAsync("/g/img.empty/x", HttpStatusCode.ServiceUnavailable, "img.empty");
        await SendAsync("/g/img.dead/x", HttpStatusCode.BadGateway, "img.dead");
        await CountedAsync(client);

        var loads = recorder.Collect().ToImageLoads().ToDictionary(l => l.Image);

        Assert.Equal(["_unknown", "img.a", "img.dead", "img.empty"], loads.Keys.Order(StringComparer.Ordinal));
        var a = loads["img.a"];
        Assert.Equal((5L, 1L, 1L), (a.ReqCount, a.Errors4Xx, a.Errors5Xx));
        Assert.Equal(received["img.a"], a.BytesTx);
        Assert.Equal(("b1", 5L, received["img.a"]), (a.Instances.Single().InstanceId, a.Instances.Single().ReqCount, a.Instances.Single().BytesTx));
        Assert.Equal(5, a.Latency.Count);

        // The node's own answers: per image, and per instance only when an instance failed.
        Assert.Equal((1L, 1L, received["_unknown"]), (loads["_unknown"].ReqCount, loads["_unknown"].Errors4Xx, loads["_unknown"].BytesTx));
        Assert.True(loads["_unknown"].BytesTx > 0);
        Assert.Empty(loads["_unknown"].Instances);
        Assert.Equal((1L, 1L), (loads["img.empty"].ReqCount, loads["img.empty"].Errors5Xx));
        Assert.Empty(loads["img.empty"].Instances);
        Assert.Equal((1L, 1L, received["img.dead"]), (loads["img.dead"].ReqCount, loads["img.dead"].Errors5Xx, loads["img.dead"].BytesTx));
        Assert.Equal(("gone", 1L, 1L), (loads["img.dead"].Instances.Single().InstanceId, loads["img.dead"].Instances.Single().ReqCount, loads["img.dead"].Instances.Single().Errors5Xx));
    }

    /// <summary>
    /// A request is counted when the proxy's handler ends, which may be just after the client has read
    /// the whole answer. Kestrel reads the next HTTP/1.1 request of a connection only once the previous
    /// handler has ended, so an answered /healthz on the same connection means everything before it
    /// is counted (and /healthz itself is not proxied, so it counts nothing).
    /// </summary>
    internal static async Task CountedAsync(HttpClient sameConnection)
    {
        using var barrier = await sameConnection.GetAsync("/healthz").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, barrier.StatusCode);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
