using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Hosting;

/// <summary>
/// Every request carries an <c>X-Request-ID</c>: the caller's when it sent a sane one, else a new
/// one. It is echoed on the response (a proxy also sends it upstream), and attached to the request's log
/// lines (with the W3C trace id, which ASP.NET Core continues from the caller's <c>traceparent</c>).
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next, ILogger<RequestIdMiddleware> logger)
{
    public const string HeaderName = "X-Request-ID";

    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[HeaderName];
        var id = incoming.Count == 1 && IsSane(incoming[0]) ? incoming[0]! : Guid.NewGuid().ToString("N");
        context.Response.Headers[HeaderName] = id;
        System.Diagnostics.Activity.Current?.SetTag("request_id", id);
        using (logger.BeginScope(new RequestIdScope(id)))
        {
            await next(context);
        }
    }

    // A client-supplied id goes into logs and upstream headers: printable ASCII, bounded length.
    private static bool IsSane(string? value)
    {
        if (value is not { Length: > 0 and <= 128 })
        {
            return false;
        }
        foreach (var c in value)
        {
            if (c is <= ' ' or >= (char)127)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>The log scope carrying the request id (<c>request_id</c> in JSON logs).</summary>
public sealed class RequestIdScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public string RequestId { get; } = requestId;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new("request_id", RequestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "request_id:" + RequestId;
}
