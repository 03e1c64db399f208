using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>One HTTP binding and the handler serving it.</summary>
internal sealed record TranscodedRoute(HttpRuleBinding Binding, Func<HttpContext, string[], Task> Handle);

/// <summary>
/// The bindings mapped under one ASP.NET Core endpoint (one route pattern and HTTP method). Usually
/// one; several when routing cannot tell their templates apart (verbs after <c>**</c>). The raw
/// request path picks the binding; a path routing accepted but no template matches exactly (another
/// letter case, an empty or dot segment) is a 404 like any unknown path.
/// </summary>
internal sealed class TranscodedRouteGroup(string[] httpMethods)
{
    private readonly object _lock = new();
    private TranscodedRoute[] _routes = [];

    public IReadOnlyList<TranscodedRoute> Routes => _routes;

    public void Add(TranscodedRoute route)
    {
        lock (_lock)
        {
            if (_routes.FirstOrDefault(r => r.Binding.Template.Shape == route.Binding.Template.Shape) is { } existing)
            {
                throw new InvalidOperationException(
                    $"'{route.Binding.Method.FullName}' maps {route.Binding}, which '{existing.Binding.Method.FullName}' already maps as {existing.Binding}.");
            }
            // Most specific first: a verb, then more literal segments.
            _routes = [.. _routes.Append(route)
                .OrderByDescending(r => r.Binding.Template.Verb is not null)
                .ThenByDescending(r => r.Binding.Template.LiteralCount)];
        }
    }

    public Task DispatchAsync(HttpContext http)
    {
        if (HttpMethodToken.IsMiscased(http.Request.Method))
        {
            // Routing took "get" for GET; RFC 9110 §9.1: it is another method, which this path does not take.
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            http.Response.Headers.Allow = string.Join(", ", httpMethods);
            return Task.CompletedTask;
        }
        var path = RawRequestPath.Get(http.Request);
        foreach (var route in _routes)
        {
            if (route.Binding.Template.TryMatch(path, out var values))
            {
                return route.Handle(http, values);
            }
        }
        http.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }
}
