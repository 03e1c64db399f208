namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>Puts the image prefix in front of each call's path (a gRPC channel addresses /{service}/{method}).</summary>
internal sealed class PrefixHandler(string prefix) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        request.RequestUri = new UriBuilder(uri) { Path = prefix + uri.AbsolutePath }.Uri;
        return base.SendAsync(request, cancellationToken);
    }
}
