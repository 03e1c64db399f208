using System.Text.RegularExpressions;
using ControlPlane.Grpc.Server;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Policies;

/// <summary>
/// Who is changing a policy, as the audit trail and <c>RoutingPolicy.updated_by</c> record it.
/// The actor is the <c>x-agent</c> request metadata (header <c>X-Agent</c> over REST), e.g.
/// "lb-policy-agent", when it is a plain name; otherwise "admin", the holder of the platform token
/// (the only credential admin methods accept). <c>user-agent</c> is not used: it names the
/// client software (curl, grpc-dotnet), not who acts. The request id is the call's
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
        var agent = context.RequestHeaders.GetValue(AgentHeader);
        var actor = agent is not null && ActorPattern().IsMatch(agent) ? agent : DefaultActor;
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
