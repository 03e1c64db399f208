using System.Collections.Concurrent;
using ControlPlane.Api.Auth;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Auth;
using Google.Protobuf.Reflection;

namespace ControlPlane.Server.Discovery.Auth;

/// <summary>
/// Enforces the dataplane token on methods the API marks <c>(controlplane.v1.dataplane_only) = true</c>
/// (the discovery streams): callers send <c>x-dataplane-token</c> metadata. Missing, or sent more than
/// once (or as a comma-joined value): UNAUTHENTICATED; wrong: PERMISSION_DENIED; all with reason
/// <c>unauthorized</c>. A per-node token binds the call to its node (<see cref="NodeBinding"/>):
/// the service refuses a stream naming another. When no dataplane token is
/// configured these methods are open (a warning is logged once), so a single-machine setup works
/// without secrets. The platform token is never accepted here, nor the dataplane token for admin
/// methods (<see cref="ControlPlane.Server.Auth.AdminAuthInterceptor"/> reads only
/// <c>x-platform-token</c>). The token is never logged.
/// </summary>
public sealed class DataplaneAuthInterceptor : IServerInterceptor
{
    public const string HeaderName = "x-dataplane-token";

    // GetOptions() returns a fresh copy on every call: read each method's flag once.
    private static readonly ConcurrentDictionary<MethodDescriptor, bool> DataplaneOnly = new();

    private readonly DataplaneToken _token;
    private readonly ILogger _logger;

    public DataplaneAuthInterceptor(DataplaneToken token, ILogger<DataplaneAuthInterceptor> logger)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(logger);
        _token = token;
        _logger = logger;
        if (!token.IsConfigured)
        {
            DiscoveryLog.DataplaneOpen(logger, DataplaneToken.VariableName, DataplaneToken.FileVariableName, DataplaneNodeTokens.KeyVariable, DataplaneNodeTokens.KeyFileVariable);
        }
    }

    public Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
    {
        if (!_token.IsConfigured || !IsDataplaneOnly(context.Method))
        {
            return next(context);
        }
        switch (PresentedToken.Read(context, HeaderName, out var presented))
        {
            case TokenPresence.Missing:
                DiscoveryLog.Refused(_logger, context.MethodPath, context.Peer, "no token presented");
                throw RpcErrors.Exception(StatusCode.Unauthenticated, "unauthorized", $"{context.Method.Name} requires the dataplane token (metadata {HeaderName})");
            case TokenPresence.Several:
                DiscoveryLog.Refused(_logger, context.MethodPath, context.Peer, "token sent more than once");
                throw RpcErrors.Exception(StatusCode.Unauthenticated, "unauthorized", $"the dataplane token (metadata {HeaderName}) must be sent exactly once, as one value");
        }
        if (!_token.Admits(presented, out var nodeId))
        {
            DiscoveryLog.Refused(_logger, context.MethodPath, context.Peer, "wrong token");
            throw RpcErrors.Exception(StatusCode.PermissionDenied, "unauthorized", "the dataplane token is not valid");
        }
        NodeBinding.Admit(context, nodeId);
        return next(context);
    }

    private static bool IsDataplaneOnly(MethodDescriptor method) =>
        DataplaneOnly.GetOrAdd(method, static m => m.GetOptions()?.GetExtension(OptionsExtensions.DataplaneOnly) ?? false);
}
