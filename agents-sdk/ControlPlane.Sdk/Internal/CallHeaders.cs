using System.Diagnostics;
using ControlPlane.Grpc;

namespace ControlPlane.Sdk.Internal;

/// <summary>
/// The request metadata of a call: <c>x-request-id</c> (the one of the request being served, when
/// the current activity carries it, so one id follows a request through agents and the control
/// plane; else a new one), W3C <c>traceparent</c>/<c>tracestate</c> of the current activity, the
/// tokens the method needs, and <c>x-agent</c>.
/// </summary>
internal sealed class CallHeaders(Secret? platformToken, Secret? dataplaneToken, bool platformTokenOnEveryCall, string? agentName)
{
    public const string RequestIdKey = "x-request-id";
    public const string PlatformTokenKey = "x-platform-token";
    public const string DataplaneTokenKey = "x-dataplane-token";
    public const string AgentKey = "x-agent";

    /// <summary>The activity tag lib/ControlPlane.Hosting's request-id middleware sets on each request.</summary>
    public const string RequestIdTag = "request_id";

    public bool HasPlatformToken => platformToken is not null;

    public Metadata Build(MethodTraits traits, string requestId, Activity? activity)
    {
        var headers = new Metadata { { RequestIdKey, requestId } };
        if (activity is { IdFormat: ActivityIdFormat.W3C, Id: { } traceparent })
        {
            headers.Add("traceparent", traceparent);
            if (activity.TraceStateString is { Length: > 0 } state)
            {
                headers.Add("tracestate", state);
            }
        }
        if (platformToken is not null && (traits.AdminOnly || platformTokenOnEveryCall))
        {
            headers.Add(PlatformTokenKey, platformToken.Value);
        }
        if (dataplaneToken is not null && traits.DataplaneOnly)
        {
            headers.Add(DataplaneTokenKey, dataplaneToken.Value);
        }
        if (agentName is not null)
        {
            headers.Add(AgentKey, agentName);
        }
        return headers;
    }

    /// <summary>The request id of the nearest activity that carries one, else a new one.</summary>
    public static string RequestId(Activity? activity)
    {
        for (var a = activity; a is not null; a = a.Parent)
        {
            if (a.GetTagItem(RequestIdTag) is string { Length: > 0 and <= 128 } id && IsPrintable(id))
            {
                return id;
            }
        }
        return Guid.NewGuid().ToString("N");
    }

    private static bool IsPrintable(string value)
    {
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
