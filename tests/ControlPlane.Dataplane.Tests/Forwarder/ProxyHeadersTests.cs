using ControlPlane.Dataplane.Forwarder;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>The header rules, on their own.</summary>
public sealed class ProxyHeadersTests
{
    [Fact]
    public void FieldsNamedByConnection_AreNotCopied()
    {
        var http = new DefaultHttpContext();
        http.Request.Headers["Connection"] = "close, X-Client-Hop";
        http.Request.Headers["X-Client-Hop"] = "secret";
        http.Request.Headers["X-Other"] = "kept";
        using var message = new HttpRequestMessage(HttpMethod.Get, "http://upstream/");

        ProxyHeaders.CopyRequestHeaders(http, message, "/g/img", "id");

        Assert.False(message.Headers.Contains("X-Client-Hop"));
        Assert.False(message.Headers.Contains("Connection"));
        Assert.Equal("kept", message.Headers.GetValues("X-Other").Single());
        Assert.Equal("id", message.Headers.GetValues("X-Request-ID").Single());
        Assert.Equal("/g/img", message.Headers.GetValues("X-Forwarded-Prefix").Single());
    }
}
