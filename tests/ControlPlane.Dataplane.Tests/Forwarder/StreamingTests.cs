using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;

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
