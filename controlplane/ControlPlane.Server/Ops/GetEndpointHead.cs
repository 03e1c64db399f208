namespace ControlPlane.Server.Ops;

internal static class GetEndpointHead
{
    /// <summary>
    /// Serves HEAD on a GET endpoint as GET without the body (RFC 9110 §9.3.2; Kestrel drops the body
    /// of a HEAD response and keeps its headers, Content-Length included). For endpoints mapped with
    /// MapGet elsewhere: routing reads the last method metadata, so this one replaces theirs.
    /// </summary>
    public static TBuilder WithHead<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
}
