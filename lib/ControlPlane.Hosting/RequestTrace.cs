using System.Diagnostics;

namespace ControlPlane.Hosting;

/// <summary>
/// The caller's W3C trace context and this server's span in it, for a request served without an
/// <see cref="Activity"/> (nothing listens for activities and ASP.NET Core's hosting logger is
/// off, as on a dataplane node, where an activity per proxied request would be most of the
/// request's allocations). <see cref="RequestIdMiddleware"/> sets it as a request feature: the
/// caller's trace when the request carries a valid <c>traceparent</c>, else a new one; log lines carry its ids, and a proxy sends
/// <see cref="ToTraceParent"/> upstream, so the next hop is a child of this server's span just as
/// with an activity.
/// </summary>
public sealed class RequestTrace
{
    private RequestTrace(ActivityContext parent, ActivitySpanId spanId)
    {
        TraceId = parent.TraceId;
        ParentSpanId = parent.SpanId;
        Flags = parent.TraceFlags;
        SpanId = spanId;
    }

    public ActivityTraceId TraceId { get; }

    /// <summary>The caller's span.</summary>
    public ActivitySpanId ParentSpanId { get; }

    /// <summary>This server's span: new for every request.</summary>
    public ActivitySpanId SpanId { get; }

    /// <summary>The caller's sampling decision, kept.</summary>
    public ActivityTraceFlags Flags { get; }

    /// <summary>A trace context continuing the caller's <paramref name="traceParent"/>; false when it is missing or not valid W3C.</summary>
    public static bool TryContinue(string? traceParent, out RequestTrace? trace)
    {
        trace = null;
        if (string.IsNullOrEmpty(traceParent) || !ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent))
        {
            return false;
        }
        trace = new RequestTrace(parent, ActivitySpanId.CreateRandom());
        return true;
    }

    /// <summary>A new trace with this server's span as its root, for a request that brought no valid <c>traceparent</c> (as ASP.NET Core starts one): its log lines still carry a trace id, and a proxy's next hop joins it.</summary>
    public static RequestTrace Start() =>
        new(new ActivityContext(ActivityTraceId.CreateRandom(), default, ActivityTraceFlags.None), ActivitySpanId.CreateRandom());

    /// <summary>The <c>traceparent</c> for the next hop: this trace, with this server's span as the parent.</summary>
    public string ToTraceParent() =>
        // One string, its ids written in place (no hex strings of their own): "00-<32>-<16>-<2>".
        string.Create(55, this, static (chars, trace) =>
        {
            Span<byte> raw = stackalloc byte[16];
            "00-".CopyTo(chars);
            trace.TraceId.CopyTo(raw);
            Convert.TryToHexStringLower(raw, chars.Slice(3, 32), out _);
            chars[35] = '-';
            trace.SpanId.CopyTo(raw[..8]);
            Convert.TryToHexStringLower(raw[..8], chars.Slice(36, 16), out _);
            ((trace.Flags & ActivityTraceFlags.Recorded) != 0 ? "-01" : "-00").CopyTo(chars[52..]);
        });
}
