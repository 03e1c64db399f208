using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>The proxy's own answers: each with its status and error code, never a 500.</summary>
public sealed class ErrorAnswerTests
{
    [Fact]
    public async Task NoConfigurationYet_Is503NotReady()
    {
        await using var node = await DataplaneFixture.StartAsync();
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/x").DefaultTimeout();

        await AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "not_ready");
    }

    [Theory]
    [InlineData("/g/other/x")]
    [InlineData("/g/")]
    [InlineData("/g")]
    public async Task UnknownImage_Is404NotFound(string path)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync(path).DefaultTimeout();

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.Empty(backend.Requests);
        // The proxy's answers carry the request id too.
        Assert.Single(response.Headers.GetValues("X-Request-ID"));
    }

    [Fact]
    public async Task ImageWithoutEndpoints_Is503NoRoutableEndpoint()
    {
        await using var node = await DataplaneFixture.StartAsync();
        node.Config.Update(new ImageConfig("img", new EndpointSet { Image = "img" }), new ImageConfig("policy-only", null, new RoutingPolicy { Algorithm = "round_robin" }));
        using var client = node.CreateClient();

        using var empty = await client.GetAsync("/g/img/x").DefaultTimeout();
        using var policyOnly = await client.GetAsync("/g/policy-only/x").DefaultTimeout();

        await AssertErrorAsync(empty, HttpStatusCode.ServiceUnavailable, "no_routable_endpoint");
        await AssertErrorAsync(policyOnly, HttpStatusCode.ServiceUnavailable, "no_routable_endpoint");
    }

    [Fact]
    public async Task DeadBackend_Is502BackendUnreachable()
    {
        await using var node = await DataplaneFixture.StartAsync();
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead", ClosedPort()));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateClient();

        using var get = await client.GetAsync("/g/img/x").DefaultTimeout();
        using var post = await client.PostAsync("/g/img/x", new StringContent("body")).DefaultTimeout();

        await AssertErrorAsync(get, HttpStatusCode.BadGateway, "backend_unreachable");
        await AssertErrorAsync(post, HttpStatusCode.BadGateway, "backend_unreachable");
    }

    [Theory]
    [InlineData("ActivityTimeout")]
    [InlineData("RequestTimeout")] // its former name, still read
    public async Task SlowBackend_Is504BackendTimeout_AndTheUpstreamCallIsCancelled(string setting)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:{setting}=00:00:00.300");
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/hang").DefaultTimeout();

        await AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "backend_timeout");
        await backend.Aborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ClientDisconnect_CancelsTheUpstreamCall()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();
        using var cancel = new CancellationTokenSource();

        var call = client.GetAsync("/g/img/hang", cancel.Token);
        await backend.Hung.Task.DefaultTimeout();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).DefaultTimeout();
        await backend.Aborted.Task.DefaultTimeout();
    }

    [Fact]
    public async Task ClientDisconnect_DuringAStreamedResponse_CancelsTheUpstreamCall()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        var response = await client.GetAsync("/g/img/gated", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        await body.ReadExactlyAsync(new byte[1024]).DefaultTimeout();
        response.Dispose(); // closes the connection mid-body

        await backend.Aborted.Task.DefaultTimeout();
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("detail").GetString()));
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    internal static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
