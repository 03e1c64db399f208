using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Discovery.Auth;

/// <summary>
/// How <see cref="DataplaneAuthInterceptor"/> admitted a call, kept on the call: with a per-node token
/// (<see cref="ControlPlane.Api.Auth.DataplaneNodeTokens"/>; the call is bound to that node, and
/// services check the node a stream identifies as against it once they have read it), with the shared
/// token (any node), or with none asked.
/// </summary>
public static class NodeBinding
{
    /// <summary>Credential kinds as the fleet view shows them.</summary>
    public const string NodeToken = "node_token";
    public const string SharedToken = "shared_token";
    public const string NoToken = "none";

    private static readonly object Key = new();
    private static readonly object Shared = new();

    /// <summary>Records the admission: <paramref name="nodeId"/> is the node a per-node token names, null for the shared token.</summary>
    internal static void Admit(ServerCallContext context, string? nodeId) => context.UserState[Key] = (object?)nodeId ?? Shared;

    /// <summary>The node the call's token names, or null.</summary>
    public static string? BoundNode(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(Key, out var id) ? id as string : null;
    }

    /// <summary><see cref="NodeToken"/>, <see cref="SharedToken"/> or <see cref="NoToken"/>.</summary>
    public static string Credential(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return !context.UserState.TryGetValue(Key, out var admitted) ? NoToken : admitted is string ? NodeToken : SharedToken;
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
