using Microsoft.AspNetCore.Http;

namespace ControlPlane.Hosting;

/// <summary>
/// Every request carries an <c>X-Request-ID</c>: the caller's when it sent a sane one, else a new
/// one. It is echoed on the response (a proxy also sends it upstream), and attached to the request's log
/// lines through <see cref="RequestIdScope.Current"/>, with the W3C trace id (which ASP.NET Core
/// continues from the caller's <c>traceparent</c>, or, when the request has no activity,
/// <see cref="RequestTrace"/> does).
/// </summary>
public sealed class RequestIdMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Request-ID";

    public async Task InvokeAsync(HttpContext context)
    {
        var incoming = context.Request.Headers[HeaderName];
        var id = incoming.Count == 1 && IsSane(incoming[0]) ? incoming[0]! : RequestIds.New();
        context.Response.Headers[HeaderName] = id;
        RequestTrace? trace = null;
        if (System.Diagnostics.Activity.Current is { } activity)
        {
            activity.SetTag("request_id", id);
        }
        else
        {
            if (!RequestTrace.TryContinue(context.Request.Headers.TraceParent, out trace))
            {
                trace = RequestTrace.Start();
            }
            context.Features.Set(trace);
        }
        // The request's ambient scope rather than a logger scope: a logger scope is pushed and popped
        // through the logger factory on every request (about a third of a proxied request's
        // allocations) for lines that are rarely written. Set inside this async method, the value is
        // seen by everything the request runs and is gone when the method returns.
        RequestIdScope.Ambient.Value = new RequestIdScope(id, trace);
        await next(context);
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

/// <summary>The request being served on this flow: its id (<c>request_id</c> in JSON logs) and, for a request without an activity, its trace.</summary>
public sealed class RequestIdScope(string requestId, RequestTrace? trace = null)
{
    internal static readonly AsyncLocal<RequestIdScope?> Ambient = new();

    /// <summary>The request being served on this flow, if any (set by <see cref="RequestIdMiddleware"/>).</summary>
    public static RequestIdScope? Current => Ambient.Value;

    public string RequestId { get; } = requestId;

    /// <summary>The request's trace when no activity carries it; null otherwise.</summary>
    public RequestTrace? Trace { get; } = trace;

    public override string ToString() => "request_id:" + RequestId;
}
