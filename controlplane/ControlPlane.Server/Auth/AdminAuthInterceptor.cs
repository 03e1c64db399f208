using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using Google.Protobuf.Reflection;

namespace ControlPlane.Server.Auth;

/// <summary>
/// Enforces the platform token on methods the API marks <c>(controlplane.v1.admin_only) = true</c>,
/// so the rule lives in the proto. gRPC callers send <c>x-platform-token</c> metadata; REST callers
/// the <c>X-Platform-Token</c> header (the same thing once transcoded). Missing: UNAUTHENTICATED
/// (HTTP 401); sent more than once (two header lines or metadata entries, or a comma-joined value):
/// UNAUTHENTICATED too, whatever the values; wrong: PERMISSION_DENIED (HTTP 403); all with reason
/// <c>unauthorized</c>. The token's holder (<see cref="PlatformToken.Identify"/>) is kept on the call
/// (<see cref="Holder"/>) for the audit trail. The token is never logged.
/// </summary>
public sealed partial class AdminAuthInterceptor(PlatformToken token, ILogger<AdminAuthInterceptor> logger) : IServerInterceptor
{
    public const string HeaderName = "x-platform-token";

    public Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
    {
        if (!IsAdminOnly(context.Method))
        {
            return next(context);
        }
        if (!token.IsConfigured)
        {
            Refused(logger, context.MethodPath, context.Peer, "no platform token is configured");
            throw RpcErrors.Exception(StatusCode.PermissionDenied, "unauthorized",
                $"{context.Method.Name} is an admin method and this control plane has no platform token configured (its operator sets {PlatformToken.VariableName} or {PlatformToken.FileVariableName} where it runs)");
        }
        switch (PresentedToken.Read(context, HeaderName, out var presented))
        {
            case TokenPresence.Missing:
                Refused(logger, context.MethodPath, context.Peer, "no token presented");
                throw RpcErrors.Exception(StatusCode.Unauthenticated, "unauthorized", $"{context.Method.Name} requires the platform token (header X-Platform-Token)");
            case TokenPresence.Several:
                Refused(logger, context.MethodPath, context.Peer, "token header sent more than once");
                throw RpcErrors.Exception(StatusCode.Unauthenticated, "unauthorized", "the platform token (header X-Platform-Token) must be sent exactly once, as one value");
        }
        if (token.Identify(presented) is not { } holder)
        {
            Refused(logger, context.MethodPath, context.Peer, "wrong token");
            throw RpcErrors.Exception(StatusCode.PermissionDenied, "unauthorized", "the platform token is not valid");
        }
        context.UserState[HolderKey] = holder;
        return next(context);
    }

    private static readonly object HolderKey = new();

    /// <summary>Who the call's platform token belongs to ("admin" for the shared token, a named token's name); null on a call this interceptor did not admit.</summary>
    public static string? Holder(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(HolderKey, out var holder) ? holder as string : null;
    }

    // GetOptions() returns a fresh copy on every call: read each method's flag once.
    private static readonly ConcurrentDictionary<MethodDescriptor, bool> AdminOnly = new();

    private static bool IsAdminOnly(MethodDescriptor method) =>
        AdminOnly.GetOrAdd(method, static m => m.GetOptions()?.GetExtension(OptionsExtensions.AdminOnly) ?? false);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refused admin call {Method} from {Peer}: {Why}")]
    private static partial void Refused(ILogger logger, string method, string peer, string why);
}
