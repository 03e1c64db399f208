using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Discovery.Auth;

/// <summary>
/// The node a call's per-node token names (<see cref="ControlPlane.Api.Auth.DataplaneNodeTokens"/>),
/// kept on the call by <see cref="DataplaneAuthInterceptor"/>; services check the node a stream
/// identifies as against it once they have read it. A call with the shared token, or with none, is
/// bound to no node.
/// </summary>
public static class NodeBinding
{
    private static readonly object Key = new();

    internal static void Bind(ServerCallContext context, string nodeId) => context.UserState[Key] = nodeId;

    /// <summary>The node the call's token names, or null.</summary>
    public static string? BoundNode(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var id) ? id as string : null;
    }

    /// <summary>
    /// Refuses (PERMISSION_DENIED, reason <c>unauthorized</c>) a stream of <paramref name="node"/> on a
    /// call whose token names another node.
    /// </summary>
    public static void Check(ServerCallContext context, Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (BoundNode(context) is { } bound && !string.Equals(bound, node.Id, StringComparison.Ordinal))
        {
            throw RpcErrors.Exception(StatusCode.PermissionDenied, "unauthorized",
                $"the dataplane token presented is node '{bound}''s; a stream naming node '{node.Id}' needs that node's token");
        }
    }
}
