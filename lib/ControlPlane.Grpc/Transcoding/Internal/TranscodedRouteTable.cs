using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Every mapped REST route group with the HTTP methods its endpoint takes. Endpoint routing matches
/// route patterns loosely (any letter case, a trailing slash, catch-alls wider than the template), and
/// its 405s and <c>Allow</c> follow; this table tells which of those methods the path really takes,
/// by the same exact template match a GET dispatch makes, so a path is known for every method or for none.
/// </summary>
internal sealed class TranscodedRouteTable
{
    private readonly object _lock = new();
    private Entry[] _entries = [];

    public void Add(string[] httpMethods, string routePattern, TranscodedRouteGroup group)
    {
        var matcher = new TemplateMatcher(TemplateParser.Parse(routePattern), new RouteValueDictionary());
        lock (_lock)
        {
            _entries = [.. _entries, new Entry(httpMethods, matcher, group)];
        }
    }

    /// <summary>
    /// The methods of the groups whose route pattern routing matches on this request (<paramref name="routed"/>),
    /// and of those whose template matches the raw path exactly (<paramref name="exact"/>).
    /// </summary>
    public void Match(HttpRequest request, HashSet<string> routed, HashSet<string> exact)
    {
        var raw = RawRequestPath.Get(request);
        foreach (var entry in _entries)
        {
            if (!entry.Pattern.TryMatch(request.Path, new RouteValueDictionary()))
            {
                continue;
            }
            routed.UnionWith(entry.HttpMethods);
            if (entry.Group.Routes.Any(r => r.Binding.Template.TryMatch(raw, out _)))
            {
                exact.UnionWith(entry.HttpMethods);
            }
        }
    }

    private sealed record Entry(string[] HttpMethods, TemplateMatcher Pattern, TranscodedRouteGroup Group);
}
