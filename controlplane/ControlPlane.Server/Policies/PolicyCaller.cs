using System.Text.RegularExpressions;
using ControlPlane.Grpc.Server;
using ControlPlane.Hosting;
using ControlPlane.Server.Auth;

namespace ControlPlane.Server.Policies;

/// <summary>
/// Who is changing a policy, as the audit trail and <c>RoutingPolicy.updated_by</c> record it.
/// With a named platform token (<c>PLATFORM_TOKENS_FILE</c>) the actor is the token's name, and the
/// <c>x-agent</c> request metadata (header <c>X-Agent</c> over REST), when a plain name, follows it
/// after a '/' ("alice/lb-policy-agent": alice's credential, used by the agent): a caller cannot
/// claim another's name. With the shared token, whose holder the server cannot tell apart, the actor
/// is the <c>x-agent</c> name, e.g. "lb-policy-agent", or else "admin". <c>user-agent</c> is not
/// used: it names the client software (curl, grpc-dotnet), not who acts. The request id is the call's
/// <c>X-Request-ID</c> as the request-id middleware settled it (the caller's, or a new one), so
/// the audit record matches the log lines of the same request.
/// </summary>
public sealed partial record PolicyCaller(string Actor, string RequestId)
{
    public const string AgentHeader = "x-agent";

    public const string DefaultActor = "admin";

    public static PolicyCaller Admin { get; } = new(DefaultActor, "");

    public static PolicyCaller From(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var agent = context.RequestHeaders.GetValue(AgentHeader) is { } named && ActorPattern().IsMatch(named) ? named : null;
        var holder = AdminAuthInterceptor.Holder(context);
        var actor = holder is null || holder == PlatformToken.SharedName
            ? agent ?? DefaultActor
            : agent is null || agent == holder ? holder : holder + "/" + agent;
        var requestId = context.HttpContext.Response.Headers[RequestIdMiddleware.HeaderName].ToString();
        if (requestId.Length == 0 && context.RequestHeaders.GetValue("x-request-id") is { Length: <= 128 } sent)
        {
            requestId = sent; // served without the middleware (metadata values are printable ASCII already)
        }
        return new PolicyCaller(actor, requestId);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,63}\\z")]
    private static partial Regex ActorPattern();
}
