using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Tests.Forwarder.Http1;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>
/// An instance's own reason phrase reaches an HTTP/1.1 client as sent (nginx relays it too), through
/// the node's own HTTP/1.1 client and through HttpClient; one that a status line must not carry, or
/// that belongs to a response the node replaced with its own error, does not.
/// </summary>
public sealed class ReasonPhraseTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CustomPhrase_IsRelayed(bool nativeHttp1)
    {
        await using var upstream = RawUpstream.Answering("HTTP/1.1 429 Slow Down, Try Again\r\nContent-Length: 2\r\n\r\nno");
        await using var node = await NodeFor(upstream, nativeHttp1);

        var response = await RawHttp.SendAsync(node.Http, "GET /g/img/x HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal("HTTP/1.1 429 Slow Down, Try Again", response.StatusLine);
        Assert.Equal("no", response.Body);
    }

    [Theory]
    [InlineData("HTTP/1.1 404 Not Found", true)]
    [InlineData("HTTP/1.1 404 ", true)]           // an empty phrase
    [InlineData("HTTP/1.1 404", true)]            // none at all
    [InlineData("HTTP/1.1 404 Nicht gef\u00fcnden", true)] // obs-text: Kestrel writes status lines in ASCII
    [InlineData("HTTP/1.1 404 Not\u0001Found", true)]      // a control character
    [InlineData("HTTP/1.1 404 ", false)]
    [InlineData("HTTP/1.1 404 Nicht gef\u00fcnden", false)]
    public async Task StandardEmptyOrUnrelayablePhrase_GetsTheStandardOne(string statusLine, bool nativeHttp1)
    {
        await using var upstream = RawUpstream.Answering(statusLine + "\r\nContent-Length: 0\r\n\r\n");
        await using var node = await NodeFor(upstream, nativeHttp1);

        var response = await RawHttp.SendAsync(node.Http, "GET /g/img/x HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal("HTTP/1.1 404 Not Found", response.StatusLine);
    }

    [Fact]
    public async Task PhraseOfAResponseReplacedByTheNodesError_IsNotKept()
    {
        // Lengths that disagree: the node answers 502 itself, with its own phrase.
        await using var upstream = RawUpstream.Answering("HTTP/1.1 200 All Good\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok");
        await using var node = await NodeFor(upstream, nativeHttp1: true);

        var response = await RawHttp.SendAsync(node.Http, "GET /g/img/x HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal("HTTP/1.1 502 Bad Gateway", response.StatusLine);
    }

    private static async Task<DataplaneFixture> NodeFor(RawUpstream upstream, bool nativeHttp1)
    {
        var node = await DataplaneFixture.StartAsync(null, "--Dataplane:PassiveHealth:Enabled=false", $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("raw", upstream.Port));
        node.Config.Update(new ImageConfig("img", set));
        return node;
    }
}
