using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Header rules of the forwarder. The client's connection and the upstream connection are
/// separate hops, so hop-by-hop fields (RFC 9110 §7.6.1: <c>Connection</c> and every field it
/// names, <c>Keep-Alive</c>, <c>Proxy-*</c>, <c>TE</c>, <c>Trailer</c>, <c>Transfer-Encoding</c>,
/// <c>Upgrade</c>; RFC 9113 §8.2.2 for HTTP/2) are dropped in both directions; in requests,
/// <c>TE: trailers</c> alone goes through because gRPC requires it. The upstream gets its own <c>Host</c> (its
/// authority, from the request URI); the client's is kept in <c>X-Forwarded-Host</c>. A client's
/// <c>Forwarded</c>, <c>X-Real-IP</c> and <c>X-Forwarded-Port</c> are dropped, never passed on, and so
/// are spellings of any of these fields with underscores (<c>X_Real_IP</c>).
/// </summary>
internal static class ProxyHeaders
{
    public const string RequestId = "X-Request-ID";
    public const string ForwardedFor = "X-Forwarded-For";
    public const string ForwardedProto = "X-Forwarded-Proto";
    public const string ForwardedHost = "X-Forwarded-Host";
    public const string ForwardedPrefix = "X-Forwarded-Prefix";
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";

    [ThreadStatic]
    private static IPAddress? t_lastAddress;

    [ThreadStatic]
    private static string? t_lastAddressText;

    /// <summary>Fields other frameworks and proxies use for the client's scheme, which the node does not set (declared first: the sets below are built from it).</summary>
    private static readonly string[] SchemeSpellings = ["X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "Front-End-Https", "X-Url-Scheme"];

    /// <summary>
    /// Never forwarded as received: hop-by-hop fields, those the forwarder sets itself, and the other
    /// fields instances read as the proxy's word on who the client is (<c>Forwarded</c>, RFC 7239;
    /// <c>X-Real-IP</c>; <c>X-Forwarded-Port</c>), which the node does not set: passed on, a client's
    /// value would read as the node's. YARP's default X-Forwarded transform removes <c>Forwarded</c> too.
    /// Likewise the other spellings of the client's scheme that frameworks read before or instead of
    /// <c>X-Forwarded-Proto</c> (Rack takes <c>X-Forwarded-Ssl: on</c> for https whatever the node says).
    /// </summary>
    private static readonly HashSet<string> RequestSkipped = new(
        [
            "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "Host",
            RequestId, ForwardedFor, ForwardedProto, ForwardedHost, ForwardedPrefix, "Forwarded", "X-Real-IP", "X-Forwarded-Port",
            .. SchemeSpellings,
        ],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The fields the node speaks for about the client. Their spellings with underscores are dropped
    /// too: CGI, WSGI, PHP and Rack turn <c>X_Real_IP</c> and <c>X-Real-IP</c> alike into
    /// <c>HTTP_X_REAL_IP</c>, so passed on, such a spelling would stand in for the field the node removed
    /// or set (nginx drops every field with an underscore by default for that reason).
    /// </summary>
    private static readonly HashSet<string> ClientIdentity = new(
        [RequestId, ForwardedFor, ForwardedProto, ForwardedHost, ForwardedPrefix, "Forwarded", "X-Real-IP", "X-Forwarded-Port", .. SchemeSpellings],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>An underscore spelling of a <see cref="ClientIdentity"/> field (allocates only for names with an underscore, which are rare).</summary>
    private static bool IsUnderscoreSpelling(string name) => name.Contains('_') && ClientIdentity.Contains(name.Replace('_', '-'));

    /// <summary>
    /// Hop-by-hop fields of a response, and <c>Alt-Svc</c>, which would point clients past the proxy at
    /// the instance. <c>TE</c> describes the sender's own connection whatever its value: relayed, it would
    /// make an HTTP/2 client reset the stream (RFC 9113 §8.2.2 allows it in requests only).
    /// </summary>
    private static readonly HashSet<string> ResponseSkipped = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings", "Alt-Svc", RequestId,
    };

    /// <summary>
    /// Never relayed as trailers: the hop-by-hop fields, and those a sender must not put in trailers
    /// (RFC 9110 §6.5.1: framing, routing, authentication, response control, content processing). An
    /// HTTP/2 client resets the stream on a <c>content-length</c> trailer, losing a response that was
    /// whole; the others would be read as if they had come with the head, or ignored.
    /// </summary>
    private static readonly HashSet<string> TrailerSkipped = new(
        [
            .. ResponseSkipped,
            "Content-Length", "Content-Type", "Content-Encoding", "Content-Range", "Content-Location", "Host", "Authorization",
            "Proxy-Authorization", "WWW-Authenticate", "Proxy-Authenticate", "Set-Cookie", "Cookie", "Cache-Control", "Expires",
            "Age", "Date", "Location", "Retry-After", "Vary", "Pragma", "Expect", "Max-Forwards", "Range",
        ],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Copies the client's headers to <paramref name="message"/> (content headers to its content,
    /// when it has one) and adds the X-Forwarded-* and X-Request-ID fields.
    /// </summary>
    public static void CopyRequestHeaders(HttpContext http, HttpRequestMessage message, string forwardedPrefix, string requestId)
    {
        // With an activity current, the handler injects its context (ProxyActivityPropagator).
        var sink = new MessageSink(message);
        CopyRequestHeaders(http, ref sink, forwardedPrefix, requestId, injectActivity: false);
    }

    /// <summary>
    /// The upstream request's header fields, handed to <paramref name="sink"/> one name at a time:
    /// the client's, minus hop-by-hop fields, then X-Forwarded-*, X-Request-ID and the trace
    /// context. With <paramref name="injectActivity"/>, a current activity's context replaces the
    /// client's trace fields (what HttpClient's propagator does for <see cref="CopyRequestHeaders(HttpContext, HttpRequestMessage, string, string)"/>).
    /// </summary>
    public static void CopyRequestHeaders<TSink>(HttpContext http, ref TSink sink, string forwardedPrefix, string requestId, bool injectActivity)
        where TSink : struct, IRequestHeaderSink
    {
        var request = http.Request;
        var headers = request.Headers;
        var named = ConnectionOptions(headers.Connection);
        var activity = injectActivity ? Activity.Current : null;
        var propagator = activity is null ? null : DistributedContextPropagator.Current;
        // Without an activity, the node's own span of the caller's trace becomes the instance's parent.
        var trace = Activity.Current is null ? http.Features.Get<RequestTrace>() : null;
        foreach (var (name, values) in headers)
        {
            if (name.StartsWith(':') || RequestSkipped.Contains(name) || IsProxyHeader(name) || (named is not null && named.Contains(name)) || IsUnderscoreSpelling(name))
            {
                if (string.Equals(name, "TE", StringComparison.OrdinalIgnoreCase) && HasTrailersToken(values))
                {
                    sink.Add("TE", "trailers");
                }
                continue;
            }
            if ((trace is not null && string.Equals(name, TraceParent, StringComparison.OrdinalIgnoreCase)) || (propagator is not null && IsPropagatorField(propagator, name)))
            {
                continue; // replaced below
            }
            if (trace is { IsContinued: false } && string.Equals(name, TraceState, StringComparison.OrdinalIgnoreCase))
            {
                continue; // a tracestate belongs to the traceparent it came with, which was not valid: the new trace starts without it (W3C Trace Context §3.3)
            }
            if (string.Equals(name, HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) && values.Count > 1)
            {
                // HTTP/2 clients may split cookies into several fields; HTTP/1.1 allows one (RFC 9113 §8.2.3).
                sink.Add(name, string.Join("; ", values.ToArray()));
                continue;
            }
            sink.Add(name, values);
        }

        // Named in Connection, the client's X-Forwarded-For is hop-by-hop like any other field there: the node's address alone.
        var forwardedFor = named is not null && named.Contains(ForwardedFor) ? StringValues.Empty : headers[ForwardedFor];
        var client = http.Connection.RemoteIpAddress;
        if (client is not null)
        {
            var ip = AddressText(client);
            sink.Add(ForwardedFor, forwardedFor.Count == 0 ? ip : string.Join(", ", forwardedFor.ToArray()) + ", " + ip);
        }
        else if (forwardedFor.Count > 0)
        {
            sink.Add(ForwardedFor, forwardedFor);
        }
        sink.Add(ForwardedProto, request.Scheme);
        if (request.Host.HasValue)
        {
            sink.Add(ForwardedHost, request.Host.Value);
        }
        sink.Add(ForwardedPrefix, forwardedPrefix);
        sink.Add(RequestId, requestId);
        if (trace is not null)
        {
            // tracestate passes as received when the caller's trace continues (dropped above otherwise).
            Span<char> traceParent = stackalloc char[RequestTrace.TraceParentLength];
            trace.FormatTraceParent(traceParent);
            sink.Add(TraceParent, traceParent);
        }
        else if (propagator is not null)
        {
            var setter = new PropagatorCarrier<TSink>(sink);
            propagator.Inject(activity, setter, static (carrier, name, value) =>
            {
                if (value is not null)
                {
                    ((PropagatorCarrier<TSink>)carrier!).Add(name, value);
                }
            });
            sink = setter.Sink;
        }
    }

    private static bool IsPropagatorField(DistributedContextPropagator propagator, string name)
    {
        foreach (var field in propagator.Fields)
        {
            if (string.Equals(field, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Copies the instance's headers to the client's response, whose status is set already
    /// (hop-by-hop ones dropped). Throws <see cref="InvalidOperationException"/> when Kestrel refuses
    /// a value as the instance sent it (a broken response: nothing was sent to the client yet).
    /// </summary>
    public static void CopyResponseHeaders(HttpResponseMessage message, HttpResponse response)
    {
        var named = ConnectionOptions(message.Headers.NonValidated.TryGetValues("Connection", out var connection) ? connection.ToString() : null);
        CopyResponseFields(message.Headers.NonValidated, response.Headers, named, dropContentLength: false);
        CopyResponseFields(message.Content.Headers.NonValidated, response.Headers, named, DropsContentLength(response.StatusCode));
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
            if (!TrailerSkipped.Contains(name))
            {
                response.AppendTrailer(name, ToStringValues(values));
            }
        }
    }

    /// <summary>The HTTP/1.1 codec's parsed response fields to the client's response, by the same rules as <see cref="CopyResponseHeaders(HttpResponseMessage, HttpResponse)"/>.</summary>
    public static void CopyResponseHeaders(List<KeyValuePair<string, string>> fields, HttpResponse response)
    {
        var dropContentLength = DropsContentLength(response.StatusCode);
        HashSet<string>? named = null;
        foreach (var (name, value) in fields)
        {
            if (string.Equals(name, "Connection", StringComparison.OrdinalIgnoreCase))
            {
                named = ConnectionOptions(value, named);
            }
        }
        var target = response.Headers;
        foreach (var (name, value) in fields)
        {
            if (ResponseSkipped.Contains(name) || IsProxyHeader(name) || (named is not null && named.Contains(name))
                || (dropContentLength && IsContentLength(name)))
            {
                continue;
            }
            Add(target, name, value);
        }
    }

    /// <summary>
    /// Adds a field, keeping an empty value (RFC 9110 §5.5 allows one, and it is relayed as sent):
    /// <c>IHeaderDictionary.Append</c> drops a value that is an empty string.
    /// </summary>
    private static void Add(IHeaderDictionary target, string name, string value)
    {
        var existing = target[name];
        target[name] = existing.Count == 0 ? new StringValues(value) : StringValues.Concat(existing, value);
    }

    /// <summary>The HTTP/1.1 codec's parsed trailer fields, when the client's protocol carries trailers.</summary>
    public static void CopyTrailers(List<KeyValuePair<string, string>> fields, HttpResponse response)
    {
        if (fields.Count == 0 || !response.SupportsTrailers())
        {
            return;
        }
        var trailers = response.HttpContext.Features.GetRequiredFeature<IHttpResponseTrailersFeature>().Trailers;
        foreach (var (name, value) in fields)
        {
            if (!TrailerSkipped.Contains(name))
            {
                Add(trailers, name, value);
            }
        }
    }

    private static void CopyResponseFields(HttpHeadersNonValidated source, IHeaderDictionary target, HashSet<string>? named, bool dropContentLength)
    {
        foreach (var (name, values) in source)
        {
            if (ResponseSkipped.Contains(name) || IsProxyHeader(name) || (named is not null && named.Contains(name))
                || (dropContentLength && IsContentLength(name)))
            {
                continue;
            }
            target[name] = ToStringValues(values);
        }
    }

    /// <summary>
    /// A 1xx or 204 response has no body whatever its fields say (RFC 9112 §6.3), and a server must
    /// not send it a Content-Length (RFC 9110 §8.6; Kestrel refuses one). An instance that does gets
    /// its answer relayed without it, as YARP does, rather than turned into an error.
    /// </summary>
    private static bool DropsContentLength(int status) => status is < 200 or StatusCodes.Status204NoContent;

    private static bool IsContentLength(string name) => string.Equals(name, HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase);

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
            var text = (value ?? "").AsSpan();
            foreach (var range in text.Split(','))
            {
                if (text[range].Trim().Equals("trailers", StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The field names a <c>Connection</c> header lists (RFC 9110 §7.6.1: they are hop-by-hop too); null when none.</summary>
    private static HashSet<string>? ConnectionOptions(StringValues connection, HashSet<string>? named = null)
    {
        foreach (var value in connection)
        {
            // Tokens as spans: the usual "keep-alive" or "close" costs no strings.
            var text = (value ?? "").AsSpan();
            foreach (var range in text.Split(','))
            {
                var token = text[range].Trim();
                if (token.Length > 0 && !token.Equals("close", StringComparison.OrdinalIgnoreCase) && !token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    (named ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase)).Add(token.ToString());
                }
            }
        }
        return named;
    }

    /// <summary>Adds to an <see cref="HttpRequestMessage"/>: message headers, else content headers when it has content.</summary>
    private readonly struct MessageSink(HttpRequestMessage message) : IRequestHeaderSink
    {
        public void Add(string name, string value)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value) && message.Content is not null)
            {
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        public void Add(string name, StringValues values)
        {
            if (!ProxyHeaders.Add(message.Headers, name, values) && message.Content is not null)
            {
                ProxyHeaders.Add(message.Content.Headers, name, values);
            }
        }

        public void Add(string name, ReadOnlySpan<char> value) => Add(name, value.ToString());
    }

    /// <summary>The propagator's callback gets an object: the sink, boxed once (only when an activity is current).</summary>
    private sealed class PropagatorCarrier<TSink>(TSink sink)
        where TSink : struct, IRequestHeaderSink
    {
        public TSink Sink = sink;

        public void Add(string name, string value) => Sink.Add(name, value);
    }
}

/// <summary>Where <see cref="ProxyHeaders.CopyRequestHeaders{TSink}"/> puts the upstream request's fields.</summary>
internal interface IRequestHeaderSink
{
    void Add(string name, string value);

    void Add(string name, StringValues values);

    /// <summary>A value formatted for this request only (a sink that writes bytes makes no string of it).</summary>
    void Add(string name, ReadOnlySpan<char> value);
}
