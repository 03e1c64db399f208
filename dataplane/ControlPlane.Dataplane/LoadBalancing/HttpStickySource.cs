using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.LoadBalancing;

/// <summary>
/// The request as a sticky-key source: its headers, its Cookie header(s) and its query string as
/// sent. <see cref="StickyValue.Find"/> parses them, with the rules the route preview applies too
/// (ASP.NET's <c>Request.Cookies</c> and <c>Request.Query</c> match names case-insensitively and
/// drop or decode values differently, so they are not used).
/// </summary>
internal readonly struct HttpStickySource(HttpRequest request) : IStickySource
{
    public string? GetHeader(string name) => request.Headers.TryGetValue(name, out var values) && values.Count > 0 ? values[0] : null;

    public int CookieHeaderCount => request.Headers.Cookie.Count;

    public string? GetCookieHeader(int index) => request.Headers.Cookie[index];

    public string? QueryString => request.QueryString.Value;
}
