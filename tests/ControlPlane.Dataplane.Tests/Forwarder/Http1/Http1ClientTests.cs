using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Forwarder.Http1;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.Dataplane.Tests.Reporting;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Forwarder.Http1;

/// <summary>
/// The node's own HTTP/1.1 client against upstreams written byte by byte: framing (length,
/// chunked with trailers, read to close, none for HEAD/204/304), 1xx, Expect: 100-continue,
/// connection reuse and when a connection must not be reused, the pool's bound and idle timeout,
/// and what a broken or hostile upstream gets (502, or the client's response broken off), never a
/// hang, a leak or a corrupted next response.
/// </summary>
public sealed class Http1ClientTests
{
    private const string Hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";

    [Fact]
    public async Task SequentialRequests_ShareOneConnection()
    {
        await using var upstream = RawUpstream.Answering(Hello);
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        }

        Assert.Equal(1, upstream.Accepted);
        Assert.Equal(5, upstream.Heads.Count);
    }

    [Fact]
    public async Task ALaterHttp1MinorVersion_IsReadAsHttp11()
    {
        // RFC 9110 §2.5: a recipient processes a higher minor version as the highest it speaks.
        await using var upstream = RawUpstream.Answering("HTTP/1.2 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        Assert.Equal(1, upstream.Accepted); // kept alive, as HTTP/1.1
    }

    [Fact]
    public async Task RequestHead_IsOriginFormWithTheInstancesHost()
    {
        await using var upstream = RawUpstream.Answering(Hello);
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        await client.GetStringAsync("/g/img/a%2Fb/c?q=1&r=%20").DefaultTimeout();

        var lines = Assert.Single(upstream.Heads).Split("\r\n");
        Assert.Equal("GET /a%2Fb/c?q=1&r=%20 HTTP/1.1", lines[0]);
        Assert.Contains($"Host: 127.0.0.1:{upstream.Port}", lines);
        Assert.Contains("X-Forwarded-Prefix: /g/img", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || l.StartsWith("Content-Length", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n")]                                        // status not digits
    [InlineData("HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n")]                                    // past 599
    [InlineData("HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n")]                                           // not HTTP/1.x
    [InlineData("HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n")]                         // space in a field name
    [InlineData("HTTP/1.1 200 OK\r\nX-A : x\r\nContent-Length: 0\r\n\r\n")]                             // space before the colon
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\r\n folded\r\nContent-Length: 0\r\n\r\n")]                  // obs-fold
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\nContent-Length: 0\r\n\r\n")]                      // a control character in a value
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello")]            // disagreeing lengths
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok")]                                   // a list, even of equal lengths
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")]                // a length sent twice
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")]                                       // not a length
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")] // both framings
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")]                                 // a coding we cannot undo
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")]                     // nobody asked to switch
    [InlineData("HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n")]                                         // bare CR ending a line
    [InlineData("HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n")]                         // bare CR in a value
    [InlineData("HTTP/1.1 200 OK\nX-A: a\n folded\nContent-Length: 0\n\n")]                              // obs-fold, lines ending in LF
    [InlineData("HTTP/1.1 200 OK\nX-A : a\nContent-Length: 0\n\n")]                                      // space before the colon, LF
    [InlineData("HTTP/1.1 200 OK\r\nContent-Le")]                                                      // closed mid-head
    public async Task MalformedResponseHead_Is502(string response)
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            if (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync(response);
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
        if (!response.EndsWith("Content-Le", StringComparison.Ordinal))
        {
            // Says what went wrong: the instance's response, not a closed connection.
            Assert.Contains("not valid HTTP", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AnInstanceClosingWithoutAnswering_Is502_SayingSo()
    {
        await using var upstream = RawUpstream.Start(async c => await c.ReadHeadAsync());
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var answer = await client.PostAsync("/g/img/x", new ByteArrayContent([])).DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
        Assert.Contains("closed the connection without a response", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nok")]                                    // LF alone throughout
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 2\nX-A: b\r\n\nok")]                                // CRLF and LF mixed
    [InlineData("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-A: b\n\n2\r\nok\r\n0\r\n\n")]        // chunked, its end a bare LF
    public async Task ResponseHeadWithBareLfLineEnds_IsAccepted_OnAReusedConnection(string response)
    {
        // RFC 9112 §2.2: a recipient may take LF alone as a line's end.
        await using var upstream = RawUpstream.Answering(response);
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        for (var i = 0; i < 2; i++)
        {
            using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("ok", await answer.Content.ReadAsStringAsync().DefaultTimeout());
            Assert.Equal("b", Assert.Single(answer.Headers.GetValues("X-A")));
        }
        Assert.Equal(1, upstream.Accepted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnEmptyFieldValue_IsRelayed(bool nativeHttp1)
    {
        // RFC 9110 §5.5: a field value may be empty; it still says something (nginx relays it too).
        await using var upstream = RawUpstream.Answering("HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Blank:   \r\nContent-Length: 2\r\n\r\nok");
        await using var node = await NodeFor(upstream, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        await using var raw = await RawHttp.ConnectAsync(node.Http);

        await raw.WriteAsync("GET /g/img/x HTTP/1.1\r\nHost: edge\r\n\r\n");
        var response = await raw.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("", response.Headers["X-Empty"]);
        Assert.Equal("", response.Headers["X-Blank"]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NoContentCarryingAContentLength_IsRelayedWithoutIt(bool nativeHttp1)
    {
        // RFC 9110 §8.6: no Content-Length on a 204; RFC 9112 §6.3: a 204 has no body whatever its fields say.
        await using var upstream = RawUpstream.Answering("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: b\r\n\r\n");
        await using var node = await NodeFor(upstream, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        await using var raw = await RawHttp.ConnectAsync(node.Http);

        for (var i = 0; i < 2; i++)
        {
            await raw.WriteAsync("DELETE /g/img/x HTTP/1.1\r\nHost: edge\r\n\r\n");
            var answer = await raw.ReadResponseAsync();
            Assert.Equal(204, answer.Status);
            Assert.Equal("b", answer.Headers["X-A"]);
            Assert.False(answer.Headers.ContainsKey("Content-Length"));
        }
    }

    [Theory]
    [InlineData(true, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")] // first chunk's size not hex
    [InlineData(false, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")]
    [InlineData(true, "HTTP/1.1 205 Reset Content\r\nContent-Length: 5\r\n\r\nhello")]                  // a body Kestrel may not send
    [InlineData(false, "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok")]
    public async Task BrokenResponse_BeforeAnythingWasRelayed_Is502_NotAResetOrA500(bool nativeHttp1, string response)
    {
        await using var upstream = RawUpstream.Answering(response);
        await using var node = await NodeFor(upstream, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
    }

    [Fact]
    public async Task BrokenResponse_IsCountedAsA502_AndAgainstTheInstance()
    {
        await using var upstream = RawUpstream.Answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        await using var node = await DataplaneFixture.StartAsync(null, "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("raw", upstream.Port));
        node.Config.Update(new ImageConfig("img", set));
        var recorder = node.Services.GetRequiredService<LoadRecorder>();
        recorder.Collect();
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();
        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
        await ProxyCountingTests.CountedAsync(client);

        var load = recorder.Collect().ToImageLoads().Single(l => l.Image == "img");
        Assert.Equal(("raw", 1L, 1L), (load.Instances.Single().InstanceId, load.Instances.Single().ReqCount, load.Instances.Single().Errors5Xx));
        var metrics = await client.GetStringAsync("/metrics").DefaultTimeout();
        Assert.Contains("controlplane_dataplane_requests_total{image=\"img\",status_class=\"5xx\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains(metrics.Split('\n'), l => l.StartsWith("controlplane_dataplane_upstream_errors_total{", StringComparison.Ordinal)
            && l.Contains("code=\"backend_unreachable\"", StringComparison.Ordinal) && l.Contains("image=\"img\"", StringComparison.Ordinal) && l.EndsWith(" 1", StringComparison.Ordinal));
        Assert.Contains("controlplane_dataplane_ejections_total{image=\"img\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EndlessResponseHead_Is502_AndItsConnectionClosed()
    {
        var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            try
            {
                // 128 KB of one header field that never ends: twice the limit.
                await c.WriteAsync("HTTP/1.1 200 OK\r\nX-Big: " + new string('a', 128 * 1024));
                closed.TrySetResult(await c.WaitForCloseAsync());
            }
            catch (Exception)
            {
                closed.TrySetResult(true); // reset by the proxy while writing
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
        Assert.True(await closed.Task.DefaultTimeout());
    }

    [Fact]
    public async Task TooManyHeaderFields_Is502()
    {
        var head = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (var i = 0; i < 300; i++)
        {
            head.Append("X-F").Append(i).Append(": v\r\n");
        }
        await using var upstream = RawUpstream.Answering(head.Append("Content-Length: 0\r\n\r\n").ToString());
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked", "5\r\nhello\r\n", "zz\r\n")]                  // size not hex
    [InlineData("Transfer-Encoding: chunked", "5\r\nhello\r\n", "5\r\nhello!!\r\n0\r\n\r\n")] // chunk longer than its size
    [InlineData("Transfer-Encoding: chunked", "5\r\nhello\r\n", "ffffffffffffffffff\r\n")]  // size overflows
    [InlineData("Content-Length: 100", "only", " ten b")]                                    // closed before the length
    [InlineData("Transfer-Encoding: chunked", "5\r\nhello\r\n", "")]                         // closed before the last chunk
    public async Task BrokenResponseBody_AfterTheHeadWasRelayed_BreaksOffTheClientsResponse(string framing, string first, string rest)
    {
        var headSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async c =>
        {
            if (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync($"HTTP/1.1 200 OK\r\n{framing}\r\n\r\n{first}");
                await headSeen.Task.DefaultTimeout();
                await c.WriteAsync(rest);
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/x", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        headSeen.SetResult();

        // Never a clean end: the client must not mistake a truncated body for a whole one.
        var error = await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsStringAsync()).DefaultTimeout();
        Assert.True(error is HttpRequestException or IOException, error.ToString());
    }

    /// <summary>
    /// A body whose break comes in the same read as its head: nothing went to the client yet, so it gets
    /// the node's 502 rather than a reset before it saw any head (the first chunk's data is not relayed).
    /// </summary>
    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n")]      // a chunk not followed by CRLF
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n")]        // the second size not hex
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\nhello!!\r\n")] // a later chunk longer than its size
    public async Task BrokenResponseBody_InTheReadThatBroughtItsHead_Is502(string response)
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            if (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync(response);
                await c.WaitForCloseAsync();
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var answer = await client.GetAsync("/g/img/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(answer, HttpStatusCode.BadGateway, "backend_unreachable");
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-Long: " + "0123456789" + "\r\n\r\nhello world")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 11\nX-Long: 0123456789\r\n\nhello world")]
    public async Task ResponseTrickledByteByByte_ArrivesWhole_OnAReusedConnection(string response)
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            while (await c.ReadHeadAsync() is not null)
            {
                await c.TrickleAsync(response);
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello world", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        Assert.Equal("hello world", await client.GetStringAsync("/g/img/x").DefaultTimeout());

        Assert.Equal(1, upstream.Accepted);
    }

    [Fact]
    public async Task BodyLongerThanItsLength_IsCutAtTheLength_AndTheConnectionNotReused()
    {
        await using var upstream = RawUpstream.Answering("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloSMUGGLED");
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());

        Assert.Equal(2, upstream.Accepted);
    }

    [Fact]
    public async Task ResponseWithoutLength_IsReadToTheClose()
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            if (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello ");
                await c.WriteAsync("world");
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello world", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        Assert.Equal("hello world", await client.GetStringAsync("/g/img/x").DefaultTimeout());

        Assert.Equal(2, upstream.Accepted);
    }

    [Fact]
    public async Task ChunkedBody_ArrivesWhole_WithItsTrailersForHttp2Clients_AndTheConnectionIsReused()
    {
        await using var upstream = RawUpstream.Answering(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n");
        await using var node = await NodeFor(upstream);
        using var http1 = node.CreateClient();
        using var h2c = node.CreateH2cClient();

        Assert.Equal("hello world", await http1.GetStringAsync("/g/img/x").DefaultTimeout());
        using var response = await h2c.GetAsync("/g/img/x").DefaultTimeout();
        Assert.Equal("hello world", await response.Content.ReadAsStringAsync().DefaultTimeout());

        Assert.Equal("abc", Assert.Single(response.TrailingHeaders.GetValues("x-checksum")));
        Assert.False(response.Headers.Contains("Trailer"));
        Assert.Equal(1, upstream.Accepted);
    }

    [Fact]
    public async Task InformationalResponses_AreNotRelayed()
    {
        await using var upstream = RawUpstream.Answering(
            "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + Hello);
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/x").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.False(response.Headers.Contains("Link"));
    }

    [Fact]
    public async Task HeadAnd204And304_HaveNoBody_AndKeepTheConnection()
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            while (await c.ReadHeadAsync() is { } head)
            {
                var answer = head.StartsWith("HEAD ", StringComparison.Ordinal) ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                    : head.StartsWith("GET /204", StringComparison.Ordinal) ? "HTTP/1.1 204 No Content\r\n\r\n"
                    : head.StartsWith("GET /304", StringComparison.Ordinal) ? "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"
                    : Hello;
                await c.WriteAsync(answer);
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        using var headRequest = new HttpRequestMessage(HttpMethod.Head, "/g/img/x");
        using var head = await client.SendAsync(headRequest).DefaultTimeout();
        using var noContent = await client.GetAsync("/g/img/204").DefaultTimeout();
        using var notModified = await client.GetAsync("/g/img/304").DefaultTimeout();
        var after = await client.GetStringAsync("/g/img/x").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(1000, head.Content.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.NoContent, noContent.StatusCode);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal("\"v1\"", notModified.Headers.ETag?.Tag);
        Assert.Equal("hello", after);
        Assert.Equal(1, upstream.Accepted);
    }

    [Fact]
    public async Task ExpectContinue_TheBodyFollowsTheInstances100()
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            var head = await c.ReadHeadAsync();
            Assert.Contains("Expect: 100-continue", head, StringComparison.OrdinalIgnoreCase);
            await c.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n");
            var body = Encoding.ASCII.GetString(await c.ReadBytesAsync(7));
            await c.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/g/img/x") { Content = new StringContent("payload") };
        request.Headers.ExpectContinue = true;

        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("payload", await response.Content.ReadAsStringAsync().DefaultTimeout());
    }

    [Fact]
    public async Task ExpectContinue_AFinalAnswerWithoutA100_IsRelayed_AndTheUnsentBodysConnectionClosed()
    {
        var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
            closed.TrySetResult(await c.WaitForCloseAsync());
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/g/img/x") { Content = new StringContent("payload") };
        request.Headers.ExpectContinue = true;

        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.ExpectationFailed, response.StatusCode);
        Assert.True(await closed.Task.DefaultTimeout());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RequestBody_KeepsTheClientsFraming(bool chunked)
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            while (await c.ReadHeadAsync() is { } head)
            {
                var body = head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase)
                    ? await c.ReadChunkedAsync()
                    : await c.ReadBytesAsync(int.Parse(head.Split("\r\n").Single(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..], System.Globalization.CultureInfo.InvariantCulture));
                var text = Encoding.ASCII.GetString(body);
                await c.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {text.Length}\r\n\r\n{text}");
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();
        var payload = new string('x', 100_000);
        HttpContent content = chunked ? new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes(payload))) : new StringContent(payload);
        if (chunked)
        {
            content.Headers.ContentLength = null;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "/g/img/x") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;

        using var response = await client.SendAsync(request).DefaultTimeout();
        Assert.Equal(payload, await response.Content.ReadAsStringAsync().DefaultTimeout());

        var head = upstream.Heads.First();
        Assert.Equal(chunked, head.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(!chunked, head.Contains("Content-Length: 100000", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ABodyWhoseLengthTheClientNamedInConnection_StaysItsBody_AndTheNextClientGetsItsOwnAnswer()
    {
        // Each answer names the request it answers; a body read as a request would be answered too.
        await using var upstream = RawUpstream.Start(async c =>
        {
            while (await c.ReadHeadAsync() is { } head)
            {
                var line = head.Split("\r\n")[0];
                var length = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } field
                    ? int.Parse(field[15..], System.Globalization.CultureInfo.InvariantCulture)
                    : 0;
                var body = Encoding.ASCII.GetString(await c.ReadBytesAsync(length));
                var answer = line + "|" + body;
                await c.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\n\r\n{answer}");
            }
        });
        await using var node = await NodeFor(upstream);
        const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

        var attacker = await RawHttp.SendAsync(node.Http,
            $"POST /g/img/innocent HTTP/1.1\r\nHost: edge\r\nConnection: Content-Length\r\nContent-Length: {Smuggled.Length}\r\n", Smuggled);
        var victim = await RawHttp.SendAsync(node.Http, "GET /g/img/mine HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal("POST /innocent HTTP/1.1|" + Smuggled, attacker.Body);
        Assert.Equal("GET /mine HTTP/1.1|", victim.Body);
        Assert.Equal(["POST /innocent HTTP/1.1", "GET /mine HTTP/1.1"], upstream.Heads.Select(h => h.Split("\r\n")[0]));
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task ReusedConnectionClosedBeforeAnswering_IsRetriedOnANewOne(string method)
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync(Hello);
            if (c.Number == 1)
            {
                // The instance drops the kept-alive connection just as the next request arrives on it.
                await c.ReadHeadAsync();
                return;
            }
            while (await c.ReadHeadAsync() is not null)
            {
                await c.WriteAsync(Hello);
            }
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        using var request = new HttpRequestMessage(new HttpMethod(method), "/g/img/x");
        using var second = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("hello", await second.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal(2, upstream.Accepted);
        Assert.Equal(3, upstream.Heads.Count);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    public async Task ANonIdempotentRequest_MetByAClosingConnection_IsNotSentAgain_But502(string method)
    {
        // The instance may have acted on it before closing: a proxy must not repeat it (RFC 9110 §9.2.2).
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync(Hello);
            await c.ReadHeadAsync(); // then closes without answering
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        using var request = new HttpRequestMessage(new HttpMethod(method), "/g/img/x") { Content = new ByteArrayContent([]) };
        using var second = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadGateway, second.StatusCode);
        Assert.Equal(1, upstream.Accepted);
        Assert.Equal([$"{method} /x HTTP/1.1"], upstream.Heads.Skip(1).Select(h => h.Split("\r\n")[0]));
    }

    [Fact]
    public async Task ConnectionClosedByTheInstanceWhileIdle_IsNotUsedAgain()
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync(Hello); // then closes: the connection ends with serve
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        await upstream.FirstClosed.Task.DefaultTimeout();
        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());

        Assert.Equal(2, upstream.Accepted);
    }

    [Fact]
    public async Task IdleConnections_AreClosedAfterTheIdleTimeout()
    {
        await using var upstream = RawUpstream.Answering(Hello);
        await using var node = await NodeFor(upstream, "--Dataplane:Forwarder:PooledConnectionIdleTimeout=00:00:00.200");
        using var client = node.CreateClient();

        Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());

        Assert.Equal(1, await upstream.FirstClosed.Task.DefaultTimeout());
        Assert.Equal(new[] { 1 }, upstream.ClosedByProxy.ToArray());
        Assert.Equal(0, node.Services.GetRequiredService<Http1Client>().OpenConnections);
    }

    [Fact]
    public async Task MaxConnectionsPerServer_BoundsTheConnections_AndRequestsWaitTheirTurn()
    {
        var answered = 0;
        var concurrent = 0;
        var peak = 0;
        await using var upstream = RawUpstream.Start(async c =>
        {
            var now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref peak, now);
            while (await c.ReadHeadAsync() is not null)
            {
                Interlocked.Increment(ref answered);
                await c.WriteAsync(Hello);
            }
            Interlocked.Decrement(ref concurrent);
        });
        await using var node = await NodeFor(upstream, "--Dataplane:Forwarder:MaxConnectionsPerServer=1");
        using var client = node.CreateClient();

        var bodies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.GetStringAsync("/g/img/x"))).DefaultTimeout();

        Assert.All(bodies, b => Assert.Equal("hello", b));
        Assert.Equal(8, answered);
        Assert.Equal(1, upstream.Accepted);
        Assert.Equal(1, peak);
    }

    [Fact]
    public async Task FailedExchanges_GiveTheirConnectionSlotBack()
    {
        await using var upstream = RawUpstream.Start(async c =>
        {
            while (await c.ReadHeadAsync() is { } head)
            {
                if (head.StartsWith("GET /bad-head", StringComparison.Ordinal))
                {
                    await c.WriteAsync("HTTP/1.1 2xx\r\n\r\n");
                    return;
                }
                if (head.StartsWith("GET /cut-body", StringComparison.Ordinal))
                {
                    await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
                    return;
                }
                await c.WriteAsync(Hello);
            }
        });
        await using var node = await NodeFor(upstream, "--Dataplane:Forwarder:MaxConnectionsPerServer=1");
        using var client = node.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            using var bad = await client.GetAsync("/g/img/bad-head").DefaultTimeout();
            Assert.Equal(HttpStatusCode.BadGateway, bad.StatusCode);
            await Assert.ThrowsAnyAsync<Exception>(() => client.GetStringAsync("/g/img/cut-body")).DefaultTimeout();
            Assert.Equal("hello", await client.GetStringAsync("/g/img/x").DefaultTimeout());
        }

        // Each failure closed its connection and gave its slot back (with a bound of one, a leaked slot would
        // have left the next request waiting); only the good connection stays, pooled.
        Assert.Equal(1, node.Services.GetRequiredService<Http1Client>().OpenConnections);
    }

    [Fact]
    public async Task ClientLeavingMidBody_ClosesTheUpstreamConnection()
    {
        var closed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = RawUpstream.Start(async c =>
        {
            await c.ReadHeadAsync();
            await c.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + new string('a', 1000));
            closed.TrySetResult(await c.WaitForCloseAsync());
        });
        await using var node = await NodeFor(upstream);
        using var client = node.CreateClient();

        var response = await client.GetAsync("/g/img/x", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        var body = await response.Content.ReadAsStreamAsync().DefaultTimeout();
        await body.ReadExactlyAsync(new byte[1000]).DefaultTimeout();
        response.Dispose();

        Assert.True(await closed.Task.DefaultTimeout());
    }

    [Fact]
    public async Task ForwardedHeaders_AreThoseHttpClientSends()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var native = await DataplaneFixture.StartAsync();
        await using var httpClient = await DataplaneFixture.StartAsync(null, "--Dataplane:Forwarder:NativeHttp1=false");
        native.Route("img", backend);
        httpClient.Route("img", backend);

        var seen = new List<TestBackend.Echo>();
        foreach (var node in new[] { native, httpClient })
        {
            using var client = node.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/p?x=1");
            request.Headers.TryAddWithoutValidation("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
            request.Headers.TryAddWithoutValidation("tracestate", "vendor=1");
            request.Headers.TryAddWithoutValidation("X-Request-ID", "req-1");
            request.Headers.TryAddWithoutValidation("X-Forwarded-For", "10.0.0.1");
            request.Headers.TryAddWithoutValidation("Cookie", "a=1");
            request.Headers.TryAddWithoutValidation("X-Custom", ["one", "two"]);
            request.Headers.TryAddWithoutValidation("Connection", "X-Hop");
            request.Headers.TryAddWithoutValidation("X-Hop", "dropped");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await client.SendAsync(request).DefaultTimeout();
            seen.Add(await TestBackend.Echo.ReadAsync(response));
        }

        var (ours, theirs) = (seen[0], seen[1]);
        Assert.Equal(theirs.RawTarget, ours.RawTarget);
        Assert.Equal(theirs.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase), ours.Headers.Keys.Order(StringComparer.OrdinalIgnoreCase));
        foreach (var name in theirs.Headers.Keys.Where(n => !n.Equals("traceparent", StringComparison.OrdinalIgnoreCase) && !n.Equals("X-Forwarded-Host", StringComparison.OrdinalIgnoreCase)))
        {
            Assert.Equal(theirs.Header(name), ours.Header(name));
        }
        Assert.Equal(native.Http.Authority, ours.Header("X-Forwarded-Host"));
        // The node's own span (new per request) is the parent: same trace, same flags.
        var (a, b) = (ours.Header("traceparent")!.Split('-'), theirs.Header("traceparent")!.Split('-'));
        Assert.Equal((b[0], b[1], b[3]), (a[0], a[1], a[3]));
        Assert.Equal("10.0.0.1, 127.0.0.1", ours.Header("X-Forwarded-For"));
        Assert.Null(ours.Header("X-Hop"));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private static async Task<DataplaneFixture> NodeFor(RawUpstream upstream, params string[] args)
    {
        // Warnings (an upstream failing) are what these tests provoke; errors would still fail them.
        var node = await DataplaneFixture.StartAsync(null, ["--Dataplane:PassiveHealth:Enabled=false", .. args]);
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("raw", upstream.Port));
        node.Config.Update(new ImageConfig("img", set));
        return node;
    }
}
