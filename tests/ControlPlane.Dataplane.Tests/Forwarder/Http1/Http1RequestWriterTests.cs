using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using ControlPlane.Dataplane.Forwarder;
using ControlPlane.Dataplane.Forwarder.Http1;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Dataplane.Tests.Forwarder.Http1;

/// <summary>The upstream request head, on its own: nothing the client sends can add a line to it or take its framing away.</summary>
public sealed class Http1RequestWriterTests
{
    [Theory]
    [InlineData("x-a\r\nx-injected")] // an HTTP/2 client's name holding CR LF: a line of its own upstream
    [InlineData("x-a\nx")]
    [InlineData("x-a: 1\r\n\r\nget /store http/1.1\r\nhost: h")] // a whole request behind the head
    [InlineData("x-a b")]
    [InlineData("x-a:b")]
    [InlineData("x-a\0")]
    public void AFieldNameThatIsNotAToken_IsRefused_BeforeALineOfItIsWritten(string name)
    {
        var http = Request("GET");
        http.Request.Headers[name] = "v";

        var written = Write(http, out var error);

        Assert.IsType<FormatException>(error);
        Assert.DoesNotContain("x-a", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /evil HTTP/1.1\r\nX:")]
    [InlineData("GE T")]
    public void AMethodThatIsNotAToken_IsRefused(string method)
    {
        var written = Write(Request(method), out var error);

        Assert.IsType<FormatException>(error);
        Assert.DoesNotContain("evil", written, StringComparison.Ordinal);
    }

    [Fact]
    public void FieldNamesMadeOfTokenCharacters_AreWrittenAsSent()
    {
        var http = Request("PATCH");
        http.Request.Headers["X-Odd!#$%&'*+.^_`|~9"] = "v";

        var written = Write(http, out var error);

        Assert.Null(error);
        Assert.StartsWith("PATCH /x HTTP/1.1\r\n", written, StringComparison.Ordinal);
        Assert.Contains("\r\nX-Odd!#$%&'*+.^_`|~9: v\r\n", written, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Length")]
    [InlineData("content-length")]
    public void ABodyWhoseContentLengthTheClientNamedInConnection_IsStillFramedByItsLength(string named)
    {
        // Dropped as hop-by-hop, the client's Content-Length would leave the body unframed: the
        // instance would read it as the next request on the connection.
        var http = Request("POST");
        http.Request.Headers.Connection = named;
        http.Request.ContentLength = 5;

        var written = Write(http, out var error, body: true);

        Assert.Null(error);
        Assert.Single(written.Split("\r\n"), l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        Assert.Contains("\r\nContent-Length: 5\r\n", written, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", written, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyPost_KeepsItsZeroLength_AndABodyWithoutOne_IsChunked()
    {
        var empty = Request("POST");
        empty.Request.ContentLength = 0;
        Assert.Contains("\r\nContent-Length: 0\r\n", Write(empty, out _), StringComparison.Ordinal);

        var streamed = Write(Request("POST"), out _, body: true, chunked: true);
        Assert.Contains("\r\nTransfer-Encoding: chunked\r\n", streamed, StringComparison.Ordinal);
        Assert.DoesNotContain("Content-Length", streamed, StringComparison.OrdinalIgnoreCase);
    }

    private static DefaultHttpContext Request(string method)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Path = "/g/img/x";
        return http;
    }

    /// <summary>What WriteHead put in the pipe (flushed as far as it got), and what it threw.</summary>
    private static string Write(DefaultHttpContext http, out Exception? error, bool body = false, bool chunked = false)
    {
        var pipe = new Pipe();
        var content = body ? new StreamingRequestContent(PipeReader.Create(new MemoryStream())) : null;
        var request = new ForwardRequest("img", "/x", "/g/img", "req-1", false, content);
        var destination = UpstreamDestination.For(DataplaneFixture.EndpointOf("i1", 8080));
        error = null;
        try
        {
            Http1RequestWriter.WriteHead(pipe.Writer, http, request, destination, out var isChunked);
            Assert.Equal(chunked, isChunked);
        }
        catch (FormatException ex)
        {
            error = ex;
        }
        pipe.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
        pipe.Writer.Complete();
        var result = pipe.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        return Encoding.ASCII.GetString(result.Buffer.ToArray());
    }
}
