using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Hosting;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Header rules of the forwarder. The client's connection and the upstream connection are
/// separate hops, so hop-by-hop fields (RFC 9110 §7.6.1: <c>Connection</c> and every field it
/// names, <c>Keep-Alive</c>, <c>Proxy-*</c>, <c>TE</c>, <c>Trailer</c>, <c>Transfer-Encoding</c>,
/// <c>Upgrade</c>; RFC 9113 §8.2.2 for HTTP/2) are dropped in both directions; <c>TE: trailers</c>
/// alone goes through because gRPC requires it. The upstream gets its own <c>Host</c> (its
/// authority, from the request URI); the client's is kept in <c>X-Forwarded-Host</c>.
/// </summary>
internal static class ProxyHeaders
{
    public const string RequestId = "X-Request-ID";
    public const string ForwardedFor = "X-Forwarded-For";
    public const string ForwardedProto = "X-Forwarded-Proto";
    public const string ForwardedHost = "X-Forwarded-Host";
    public const string ForwardedPrefix = "X-Forwarded-Prefix";
    private const string TraceParent = "traceparent";

    [ThreadStatic]
    private static IPAddress? t_lastAddress;

    [ThreadStatic]
    private static string? t_lastAddressText;

    /// <summary>Never forwarded as received: hop-by-hop fields, and those the forwarder sets itself.</summary>
    private static readonly HashSet<string> RequestSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "Host",
        RequestId, ForwardedFor, ForwardedProto, ForwardedHost, ForwardedPrefix,
    };

    /// <summary>Hop-by-hop fields of a response, and <c>Alt-Svc</c>, which would point clients past the proxy at the instance.</summary>
    private static readonly HashSet<string> ResponseSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "Alt-Svc", RequestId,
    };

    /// <summary>
    /// Copies the client's headers to <paramref name="message"/> (content headers to its content,
    /// when it has one) and adds the X-Forwarded-* and X-Request-ID fields.
    /// </summary>
    public static void CopyRequestHeaders(HttpContext http, HttpRequestMessage message, string forwardedPrefix, string requestId)
    {
        var request = http.Request;
        var headers = request.Headers;
        var named = ConnectionOptions(headers.Connection);
        foreach (var (name, values) in headers)
        {
            if (name.StartsWith(':') || RequestSkipped.Contains(name) || IsProxyHeader(name) || (named is not null && named.Contains(name)))
            {
                if (string.Equals(name, "TE", StringComparison.OrdinalIgnoreCase) && HasTrailersToken(values))
                {
                    message.Headers.TryAddWithoutValidation("TE", "trailers");
                }
                continue;
            }
            if (string.Equals(name, HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) && values.Count > 1)
            {
                // HTTP/2 clients may split cookies into several fields; HTTP/1.1 allows one (RFC 9113 §8.2.3).
                message.Headers.TryAddWithoutValidation(name, string.Join("; ", values.ToArray()));
                continue;
            }
            if (!Add(message.Headers, name, values) && message.Content is not null)
            {
                Add(message.Content.Headers, name, values);
            }
        }

        var forwardedFor = headers[ForwardedFor];
        var client = http.Connection.RemoteIpAddress;
        if (client is not null)
        {
            var ip = AddressText(client);
            message.Headers.TryAddWithoutValidation(ForwardedFor, forwardedFor.Count == 0 ? ip : string.Join(", ", forwardedFor.ToArray()) + ", " + ip);
        }
        else if (forwardedFor.Count > 0)
        {
            message.Headers.TryAddWithoutValidation(ForwardedFor, forwardedFor.ToArray());
        }
        message.Headers.TryAddWithoutValidation(ForwardedProto, request.Scheme);
        if (request.Host.HasValue)
        {
            message.Headers.TryAddWithoutValidation(ForwardedHost, request.Host.Value);
        }
        message.Headers.TryAddWithoutValidation(ForwardedPrefix, forwardedPrefix);
        message.Headers.TryAddWithoutValidation(RequestId, requestId);
        if (Activity.Current is null && http.Features.Get<RequestTrace>() is { } trace)
        {
            // No activity for HttpClient to propagate (see ProxyActivityPropagator for when there is one):
            // the node's own span of the caller's trace becomes the instance's parent. tracestate passed as received.
            message.Headers.Remove(TraceParent);
            message.Headers.TryAddWithoutValidation(TraceParent, trace.ToTraceParent());
        }
    }

    /// <summary>Copies the instance's status line fields and headers to the client's response (hop-by-hop ones dropped).</summary>
    public static void CopyResponseHeaders(HttpResponseMessage message, HttpResponse response)
    {
        var named = ConnectionOptions(message.Headers.NonValidated.TryGetValues("Connection", out var connection) ? connection.ToString() : null);
        CopyResponseFields(message.Headers.NonValidated, response.Headers, named);
        CopyResponseFields(message.Content.Headers.NonValidated, response.Headers, named);
    }

    /// <summary>Copies the instance's trailers (gRPC's grpc-status and grpc-message among them) when the client's protocol carries trailers.</summary>
    public static void CopyTrailers(HttpResponseMessage message, HttpResponse response)
    {
        var trailers = message.TrailingHeaders.NonValidated;
        if (trailers.Count == 0 || !response.SupportsTrailers())
        {
            return;
        }
        foreach (var (name, values) in trailers)
        {
            if (!ResponseSkipped.Contains(name))
            {
                response.AppendTrailer(name, ToStringValues(values));
            }
        }
    }

    private static void CopyResponseFields(HttpHeadersNonValidated source, IHeaderDictionary target, HashSet<string>? named)
    {
        foreach (var (name, values) in source)
        {
            if (ResponseSkipped.Contains(name) || IsProxyHeader(name) || (named is not null && named.Contains(name)))
            {
                continue;
            }
            target[name] = ToStringValues(values);
        }
    }

    private static StringValues ToStringValues(HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return values.ToString();
        }
        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }
        return array;
    }

    /// <summary>The client's address as X-Forwarded-For writes it; the last one's text is kept per thread (most requests come from few addresses).</summary>
    private static string AddressText(IPAddress address)
    {
        if (!address.Equals(t_lastAddress) || t_lastAddressText is null)
        {
            t_lastAddressText = (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
            t_lastAddress = address;
        }
        return t_lastAddressText;
    }

    private static bool Add(HttpHeaders target, string name, StringValues values) =>
        values.Count == 1 ? target.TryAddWithoutValidation(name, values.ToString()) : target.TryAddWithoutValidation(name, (IEnumerable<string?>)values);

    private static bool IsProxyHeader(string name) => name.StartsWith("Proxy-", StringComparison.OrdinalIgnoreCase);

    private static bool HasTrailersToken(StringValues values)
    {
        foreach (var value in values)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (token.Equals("trailers", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The field names a <c>Connection</c> header lists (RFC 9110 §7.6.1: they are hop-by-hop too); null when none.</summary>
    private static HashSet<string>? ConnectionOptions(StringValues connection)
    {
        HashSet<string>? named = null;
        foreach (var value in connection)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!token.Equals("close", StringComparison.OrdinalIgnoreCase) && !token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    (named ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase)).Add(token);
                }
            }
        }
        return named;
    }
}
