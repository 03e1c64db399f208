using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Net.Sockets;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>Bodies are streamed both ways: large ones arrive intact, and bytes flow before the other side has finished.</summary>
public sealed class StreamingTests
{
    private const long FiftyMegabytes = 50L * 1024 * 1024;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LargeUpload_ArrivesIntact(bool chunked)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.PostAsync("/g/img/upload", new PatternContent(FiftyMegabytes, chunked)).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<TestBackend.UploadResult>().DefaultTimeout();
        Assert.Equal(FiftyMegabytes, result!.Bytes);
        Assert.Equal(TestBackend.PatternSha256(FiftyMegabytes), result.Sha256);
    }

    [Fact]
    public async Task LargeDownload_ArrivesIntact()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync($"/g/img/download?bytes={FiftyMegabytes}", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = await body.ReadAsync(buffer).DefaultTimeout()) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        Assert.Equal(FiftyMegabytes, response.Content.Headers.ContentLength);
        Assert.Equal(FiftyMegabytes, total);
        Assert.Equal(TestBackend.PatternSha256(FiftyMegabytes), Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    [Fact]
    public async Task Download_OutlastsAClientPause_LongerThanTheDataRateGrace()
    {
        // Kestrel cuts a client reading below its minimum response data rate once the grace period has
        // passed, judged on the bytes written to it. A client that pauses for longer than the grace
        // (mobile networks do) keeps its download as long as its rate over the download holds: here
        // a 1.5 s grace and a 4 s pause, in real time, as Kestrel's heartbeat runs on the system clock.
        // A small receive buffer, so the node's writes wait out the pause.
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(builder => builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(1.5))));
        node.Route("img", backend);
        const long Size = 32L * 1024 * 1024;
        using var tcp = new TcpClient { ReceiveBufferSize = 8 * 1024 };
        await tcp.ConnectAsync(node.Http.Host, node.Http.Port).DefaultTimeout();
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /g/img/download?bytes={Size}&held HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n")).DefaultTimeout();

        // The head reaches the client alone (so the body's bytes are all written after it), then the body flows.
        var buffer = new byte[64 * 1024];
        long received = await stream.ReadAsync(buffer).DefaultTimeout();
        backend.Release.TrySetResult();
        await Task.Delay(TimeSpan.FromSeconds(4));
        int n;
        while ((n = await stream.ReadAsync(buffer).DefaultTimeout()) > 0)
        {
            received += n;
        }

        // The whole body arrived after the head (the connection was not cut).
        Assert.True(received > Size, $"{received} bytes received, the body alone is {Size}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UploadedBytes_ReachTheInstance_BeforeTheUploadEnds(bool chunked)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        // The client sends 1 MB and then waits until the instance has seen bytes.
        var content = new PatternContent(8L * 1024 * 1024, chunked, pauseAfter: 1024 * 1024, resume: backend.FirstBytes.Task);
        using var response = await client.PostAsync("/g/img/upload", content).DefaultTimeout();

        var result = await response.Content.ReadFromJsonAsync<TestBackend.UploadResult>().DefaultTimeout();
        Assert.Equal(8L * 1024 * 1024, result!.Bytes);
    }

    [Fact]
    public async Task ResponseBytes_ReachTheClient_BeforeTheResponseEnds()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        // The instance sends 1 KB and waits for the test to release it: the client must get that first KB meanwhile.
        using var response = await client.GetAsync("/g/img/gated", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await using var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        await body.ReadExactlyAsync(new byte[1024]).DefaultTimeout();
        backend.Release.SetResult();
        var rest = new MemoryStream();
        await body.CopyToAsync(rest).DefaultTimeout();

        Assert.Equal(1024, rest.Length);
    }

    [Fact]
    public async Task Http2_FullDuplex_EchoesEachChunkBeforeTheNextIsSent()
    {
        await using var backend = await TestBackend.StartAsync("b1", http2: true);
        await using var node = await DataplaneFixture.StartAsync();
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateH2cClient();

        var requestBody = new DuplexContent();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/g/img/echo-body")
        {
            Content = requestBody,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        await using var echoed = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        var upstream = await requestBody.Stream.DefaultTimeout();
        for (var i = 0; i < 5; i++)
        {
            var ping = new byte[100];
            Array.Fill(ping, (byte)i);
            await upstream.WriteAsync(ping).DefaultTimeout();
            await upstream.FlushAsync().DefaultTimeout();
            var pong = new byte[100];
            await echoed.ReadExactlyAsync(pong).DefaultTimeout();
            Assert.Equal(ping, pong);
        }
        requestBody.Complete();
        Assert.Equal(0, await echoed.ReadAsync(new byte[1]).DefaultTimeout());
    }

    /// <summary>Request content the test writes to while the response is being read (HTTP/2 full duplex).</summary>
    private sealed class DuplexContent : HttpContent
    {
        private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Stream> Stream => _stream.Task;

        public void Complete() => _done.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            // SocketsHttpHandler sends HTTP/2 request headers with the first body write; send them now.
            await stream.FlushAsync();
            _stream.TrySetResult(stream);
            await _done.Task.WaitAsync(TaskTimeoutExtensions.Timeout);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
