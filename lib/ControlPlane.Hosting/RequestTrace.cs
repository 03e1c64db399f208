using System.Buffers.Binary;
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
    /// <summary>The length of the <c>traceparent</c> this server sends: "00-" + 32 + "-" + 16 + "-" + 2.</summary>
    public const int TraceParentLength = 55;

    // The ids as numbers: ActivityTraceId and ActivitySpanId hold hex strings, made here only when a
    // line is logged, not for every proxied request.
    private readonly ulong _traceHigh;
    private readonly ulong _traceLow;
    private readonly ulong _parentSpan;
    private readonly ulong _span;

    private RequestTrace(ulong traceHigh, ulong traceLow, ulong parentSpan, ActivityTraceFlags flags)
    {
        _traceHigh = traceHigh;
        _traceLow = traceLow;
        _parentSpan = parentSpan;
        Flags = flags;
        do
        {
            _span = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        }
        while (_span == 0);
    }

    public ActivityTraceId TraceId
    {
        get
        {
            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, _traceHigh);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], _traceLow);
            return ActivityTraceId.CreateFromBytes(bytes);
        }
    }

    /// <summary>The caller's span; default for a trace this server started.</summary>
    public ActivitySpanId ParentSpanId => _parentSpan == 0 ? default : SpanIdOf(_parentSpan);

    /// <summary>True when this continues the caller's trace; false for a trace this server started.</summary>
    public bool IsContinued => _parentSpan != 0;

    /// <summary>This server's span: new for every request.</summary>
    public ActivitySpanId SpanId => SpanIdOf(_span);

    /// <summary>The caller's sampling decision, kept.</summary>
    public ActivityTraceFlags Flags { get; }

    /// <summary>
    /// A trace context continuing the caller's <paramref name="traceParent"/>; false when it is missing
    /// or not valid W3C Trace Context (§3.2): lowercase hex fields, version ff refused, version 00 exactly
    /// 55 characters, a later version possibly followed by more "-" fields, trace and parent ids not all zero.
    /// </summary>
    public static bool TryContinue(string? traceParent, out RequestTrace? trace)
    {
        trace = null;
        if (traceParent is not { Length: >= TraceParentLength } text || text[2] != '-' || text[35] != '-' || text[52] != '-')
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[1 + 16 + 8 + 1];
        if (!TryLowerHex(text.AsSpan(0, 2), bytes[..1])
            || !TryLowerHex(text.AsSpan(3, 32), bytes.Slice(1, 16))
            || !TryLowerHex(text.AsSpan(36, 16), bytes.Slice(17, 8))
            || !TryLowerHex(text.AsSpan(53, 2), bytes[25..]))
        {
            return false;
        }
        var version = bytes[0];
        if (version == 0xFF || (version == 0 && text.Length != TraceParentLength) || (text.Length > TraceParentLength && text[TraceParentLength] != '-'))
        {
            return false;
        }
        var traceHigh = BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(1, 8));
        var traceLow = BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(9, 8));
        var parent = BinaryPrimitives.ReadUInt64BigEndian(bytes.Slice(17, 8));
        if ((traceHigh | traceLow) == 0 || parent == 0)
        {
            return false;
        }
        trace = new RequestTrace(traceHigh, traceLow, parent, (ActivityTraceFlags)(bytes[25] & (byte)ActivityTraceFlags.Recorded));
        return true;
    }

    /// <summary>A new trace with this server's span as its root, for a request that brought no valid <c>traceparent</c> (as ASP.NET Core starts one): its log lines still carry a trace id, and a proxy's next hop joins it.</summary>
    public static RequestTrace Start()
    {
        ulong high, low;
        do
        {
            high = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
            low = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue);
        }
        while ((high | low) == 0);
        return new RequestTrace(high, low, 0, ActivityTraceFlags.None);
    }

    /// <summary>The <c>traceparent</c> for the next hop: this trace, with this server's span as the parent.</summary>
    public string ToTraceParent() =>
        string.Create(TraceParentLength, this, static (chars, trace) => trace.FormatTraceParent(chars));

    /// <summary>Writes <see cref="ToTraceParent"/>'s <see cref="TraceParentLength"/> characters ("00-&lt;32&gt;-&lt;16&gt;-&lt;2&gt;") into <paramref name="destination"/>.</summary>
    public void FormatTraceParent(Span<char> destination)
    {
        var chars = destination[..TraceParentLength];
        Span<byte> raw = stackalloc byte[16];
        "00-".CopyTo(chars);
        BinaryPrimitives.WriteUInt64BigEndian(raw, _traceHigh);
        BinaryPrimitives.WriteUInt64BigEndian(raw[8..], _traceLow);
        Convert.TryToHexStringLower(raw, chars.Slice(3, 32), out _);
        chars[35] = '-';
        BinaryPrimitives.WriteUInt64BigEndian(raw, _span);
        Convert.TryToHexStringLower(raw[..8], chars.Slice(36, 16), out _);
        ((Flags & ActivityTraceFlags.Recorded) != 0 ? "-01" : "-00").CopyTo(chars[52..]);
    }

    private static ActivitySpanId SpanIdOf(ulong id)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, id);
        return ActivitySpanId.CreateFromBytes(bytes);
    }

    private static bool TryLowerHex(ReadOnlySpan<char> hex, Span<byte> bytes) =>
        !hex.ContainsAnyInRange('A', 'F')
        && Convert.FromHexString(hex, bytes, out var consumed, out var written) == System.Buffers.OperationStatus.Done
        && consumed == hex.Length && written == bytes.Length;
}
