using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.LoadBalancing;

/// <summary>The request as a sticky-key source: a header, then a cookie, then a query parameter (resources.proto's order, applied by <see cref="StickyValue.Find"/>).</summary>
internal readonly struct HttpStickySource(HttpRequest request) : IStickySource
{
    public string? GetHeader(string name) => request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    public string? GetCookie(string name) => request.Cookies[name];

    public string? GetQuery(string name) => request.Query.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;
}
