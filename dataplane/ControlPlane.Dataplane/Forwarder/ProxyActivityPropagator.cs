using System.Diagnostics;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Trace context for upstream requests. The forwarder copies the client's headers, <c>traceparent</c>
/// included; when an activity is current (ASP.NET Core continued the client's trace), the handler
/// injects that activity's context, and the copied fields are removed first so the instance sees
/// one <c>traceparent</c>, a child of the client's span. Without an activity the client's fields
/// pass through untouched.
/// </summary>
internal sealed class ProxyActivityPropagator(DistributedContextPropagator inner) : DistributedContextPropagator
{
    public override IReadOnlyCollection<string> Fields => inner.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (carrier is HttpRequestMessage request)
        {
            foreach (var field in inner.Fields)
            {
                request.Headers.Remove(field);
            }
        }
        inner.Inject(activity, carrier, setter);
    }

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        inner.ExtractBaggage(carrier, getter);
}
