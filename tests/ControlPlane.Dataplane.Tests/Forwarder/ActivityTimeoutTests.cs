using System.Net;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Tests.Forwarder.Http1;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>
/// <c>ActivityTimeout</c> measures the instance's silence, never the client's: an upload slower
/// than the timeout goes through, a client too slow for Kestrel's minimum data rate gets its 408
/// and nobody else is blamed; an instance silent once the request is sent gets 504, one that stalls
/// in the middle of its body has the client's response broken off, and both count against it.
/// </summary>
public sealed class ActivityTimeoutTests
{
    private const int EjectedEvent = 2007;
    private const int TimeoutEvent = 2002;
    private const int StalledEvent = 2009;

    [Theory]
    [InlineData(false, true)]  // HTTP/1.1 instance, the node's own client
    [InlineData(false, false)] // HTTP/1.1 instance through HttpClient
    [InlineData(true, true)]   // h2c instance (always HttpClient)
    public async Task UploadSlowerThanTheTimeout_IsForwardedWhole_AndNobodyIsBlamed(bool http2, bool nativeHttp1)
    {
        await using var backend = await TestBackend.StartAsync("b1", http2);
        var time = new ManualTimeProvider();
        await using var node = await DataplaneFixture.StartAsync(builder => builder.Services.AddSingleton<TimeProvider>(time),
            "--Dataplane:Forwarder:ActivityTimeout=00:00:01.500", "--Dataplane:PassiveHealth:ConsecutiveFailures=1", $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: http2 ? "h2c" : null));
        node.Config.Update(new ImageConfig("img", set));

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync("POST /g/img/upload HTTP/1.1\r\nHost: edge\r\nContent-Length: 2000\r\n\r\n" + new string('x', 1000));
        await backend.FirstBytes.Task.DefaultTimeout();
        // A slow client: over two timeouts pass on the node's clock while it holds back the rest of its
        // body. The node is waiting on the client then, so none of its timers may be running.
        await WaitingOnTheClientAsync(time);
        await raw.WriteAsync(new string('y', 1000));
        var response = await raw.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Contains("\"bytes\":2000", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(node.Logs.Records, r => r.EventId.Id is TimeoutEvent or EjectedEvent);
    }

    [Fact]
    public async Task ClientTooSlowForTheMinimumDataRate_Is408_AndTheInstanceIsNotBlamed()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(
            builder => builder.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1000, gracePeriod: TimeSpan.FromSeconds(2))),
            "--Dataplane:Forwarder:ActivityTimeout=00:00:00.300", "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        node.Route("img", backend);

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync("POST /g/img/upload HTTP/1.1\r\nHost: edge\r\nContent-Length: 1000000\r\n\r\n" + new string('x', 100));
        await backend.FirstBytes.Task.DefaultTimeout();

        // Nothing more comes: long past the activity timeout, Kestrel's data rate decides, and it is the client's fault.
        var response = await raw.ReadResponseAsync();
        Assert.Equal(408, response.Status);
        Assert.Contains("request_timeout", response.Body, StringComparison.Ordinal);
        await backend.Aborted.Task.DefaultTimeout();
        Assert.DoesNotContain(node.Logs.Records, r => r.EventId.Id is TimeoutEvent or EjectedEvent);
        var route = node.Config.Current.Images["img"];
        Assert.DoesNotContain(route.States, route.Health.IsEjected);
    }

    [Fact]
    public async Task InstanceSilentOnceTheBodyIsSent_Is504_AndCountsAgainstIt()
    {
        var bodyRead = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            bodyRead.TrySetResult(Encoding.ASCII.GetString(await c.ReadBytesAsync(5)));
            await c.WaitForCloseAsync(); // never answers
        });
        await using var node = await NodeFor(upstream, "00:00:00.300");
        using var client = node.CreateClient();

        using var response = await client.PostAsync("/g/img/x", new StringContent("hello")).DefaultTimeout();

        Assert.Equal("hello", await bodyRead.Task.DefaultTimeout());
        await ErrorAnswerTests.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "backend_timeout");
        Assert.Single(node.Logs.Records, r => r.EventId.Id == EjectedEvent);
    }

    [Theory]
    [InlineData(false, true)]  // HTTP/1.1 instance, the node's own client
    [InlineData(false, false)] // HTTP/1.1 instance through HttpClient
    [InlineData(true, true)]   // h2c instance (always HttpClient)
    public async Task InstanceStallingMidBody_BreaksOffTheClientsResponse_AndCountsAgainstIt(bool http2, bool nativeHttp1)
    {
        await using var backend = await TestBackend.StartAsync("b1", http2);
        await using var node = await DataplaneFixture.StartAsync(null,
            "--Dataplane:Forwarder:ActivityTimeout=00:00:00.500", "--Dataplane:PassiveHealth:ConsecutiveFailures=1", $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: http2 ? "h2c" : null));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateClient();

        // The instance sends its headers and 1 KB, then nothing until released (never, here).
        using var response = await client.GetAsync("/g/img/gated", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        await body.ReadExactlyAsync(new byte[1024]).DefaultTimeout();

        // The client is not left hanging: its response is broken off (a truncated body must not look whole) ...
        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await body.ReadAsync(new byte[1024]).DefaultTimeout());
        Assert.True(error is HttpRequestException or IOException, error.ToString());
        // ... the instance's exchange is dropped, and the stall counts against it.
        await backend.Aborted.Task.DefaultTimeout();
        await Eventually.WaitAsync("the instance's ejection", () => node.Logs.Records.Any(r => r.EventId.Id == EjectedEvent));
        Assert.Contains(node.Logs.Records, r => r.EventId.Id == StalledEvent);
    }

    [Fact]
    public async Task ClientReadingSlowly_IsNotTimedOut()
    {
        const long length = 32L * 1024 * 1024; // more than the sockets' and pipes' buffers hold
        await using var backend = await TestBackend.StartAsync("b1");
        var time = new ManualTimeProvider();
        await using var node = await DataplaneFixture.StartAsync(builder => builder.Services.AddSingleton<TimeProvider>(time),
            "--Dataplane:Forwarder:ActivityTimeout=00:00:01.500", "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync($"/g/img/download?bytes={length}", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        var buffer = new byte[64 * 1024];
        await body.ReadExactlyAsync(buffer).DefaultTimeout();
        // The client stops reading for over two timeouts of the node's clock: the node waits on the client, not on the instance.
        await WaitingOnTheClientAsync(time);
        long total = buffer.Length;
        int n;
        while ((n = await body.ReadAsync(buffer).DefaultTimeout()) > 0)
        {
            total += n;
        }

        Assert.Equal(length, total);
        Assert.DoesNotContain(node.Logs.Records, r => r.EventId.Id == EjectedEvent);
    }

    /// <summary>
    /// Moves the node's clock on by over two activity timeouts at a moment when it has no timer
    /// running, as it must have none while it waits on the client; a node that timed the client
    /// would never have such a moment, and the wait times out.
    /// </summary>
    private static Task WaitingOnTheClientAsync(ManualTimeProvider time) =>
        Eventually.WaitAsync("the node waiting on the client with no timer running", () => time.TryAdvanceQuietly(TimeSpan.FromSeconds(3.5)));

    private static async Task<DataplaneFixture> NodeFor(RawUpstream upstream, string activityTimeout)
    {
        var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:ActivityTimeout={activityTimeout}", "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("raw", upstream.Port));
        node.Config.Update(new ImageConfig("img", set));
        return node;
    }
}
