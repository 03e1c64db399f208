using System.Diagnostics;
using ControlPlane.Hosting;

namespace ControlPlane.Dataplane.Tests.Ops;

/// <summary>
/// A request's trace context without an activity: which <c>traceparent</c> values it continues,
/// and what it sends to the next hop.
/// </summary>
public sealed class RequestTraceTests
{
    private const string Trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string Parent = "00f067aa0ba902b7";

    /// <summary>W3C Trace Context §3.2 (and §3.2.4 for versions after 00), with what the rule is.</summary>
    public static TheoryData<string, bool> TraceParents() => new()
    {
        { $"00-{Trace}-{Parent}-01", true },
        { $"00-{Trace}-{Parent}-00", true },
        { $"00-{Trace}-{Parent}-03", true }, // unknown flags: only "sampled" is kept
        { $"00-{Trace.ToUpperInvariant()}-{Parent}-01", false }, // lowercase hex only
        { $"00-{Trace}-{Parent.ToUpperInvariant()}-01", false },
        { $"00-{new string('0', 32)}-{Parent}-01", false }, // all-zero ids are invalid
        { $"00-{Trace}-{new string('0', 16)}-01", false },
        { $"ff-{Trace}-{Parent}-01", false }, // version ff is invalid
        { $"01-{Trace}-{Parent}-01", true },
        { $"01-{Trace}-{Parent}-01-future", true }, // a later version may add fields after a dash
        { $"01-{Trace}-{Parent}-01x", false },
        { $"00-{Trace}-{Parent}-01-", false }, // version 00 is exactly 55 characters
        { $"00-{Trace}-{Parent}-1", false },
        { $"00-{Trace}-{Parent}-0g", false },
        { $"00_{Trace}-{Parent}-01", false }, // fields are separated by dashes
        { $"00-{Trace}_{Parent}-01", false },
        { $"00-{Trace[..31]}g-{Parent}-01", false },
        { $"00-{Trace}-{Parent}", false },
        { $"0-{Trace}-{Parent}-01", false },
        { "", false },
        { "garbage", false },
    };

    [Theory]
    [MemberData(nameof(TraceParents))]
    public void Continues_OnlyAValidTraceParent(string traceParent, bool valid)
    {
        var continued = RequestTrace.TryContinue(traceParent, out var trace);

        Assert.Equal(valid, continued);
        if (continued)
        {
            // The ids as the framework's parser reads the same header's first 55 characters.
            Assert.True(ActivityContext.TryParse(traceParent[..55], null, isRemote: true, out var context));
            Assert.Equal(context.TraceId, trace!.TraceId);
            Assert.Equal(context.SpanId, trace.ParentSpanId);
            Assert.Equal(context.TraceFlags & ActivityTraceFlags.Recorded, trace.Flags);
        }
    }

    [Fact]
    public void TheNextHop_JoinsTheTrace_AsAChildOfThisServersSpan()
    {
        Assert.True(RequestTrace.TryContinue($"00-{Trace}-{Parent}-01", out var trace));

        var next = trace!.ToTraceParent();

        Assert.True(ActivityContext.TryParse(next, null, out var context));
        Assert.Equal(Trace, context.TraceId.ToHexString());
        Assert.Equal(trace.SpanId, context.SpanId);
        Assert.NotEqual(Parent, context.SpanId.ToHexString());
        Assert.Equal(ActivityTraceFlags.Recorded, context.TraceFlags);
    }

    [Fact]
    public void ANewTrace_HasItsOwnIds_AndNoParent()
    {
        var traces = Enumerable.Range(0, 100).Select(_ => RequestTrace.Start()).ToArray();

        Assert.Equal(100, traces.Select(t => t.TraceId).Distinct().Count());
        Assert.All(traces, t =>
        {
            Assert.True(ActivityContext.TryParse(t.ToTraceParent(), null, out var context));
            Assert.Equal(t.TraceId, context.TraceId);
            Assert.Equal(t.SpanId, context.SpanId);
            Assert.Equal(default, t.ParentSpanId);
            Assert.Equal(ActivityTraceFlags.None, t.Flags);
        });
    }
}
