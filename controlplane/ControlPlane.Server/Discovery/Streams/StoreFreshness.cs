using ControlPlane.Grpc;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// Keeps a replica from sending a node back in time. Replicas on one store load its changes on their
/// own, and one cut off from the store serves what it loaded last; a node that reconnects to it
/// (after a hand-off, a failover, a restart) holding configuration another replica loaded later would
/// otherwise get the older configuration as an update. So a node says where in the store's change
/// sequence its configuration stands (<c>store_position</c>, the last accepted response's), and a
/// replica behind that position first waits to catch up (<see cref="DiscoveryOptions.BehindWait"/>)
/// and otherwise refuses the stream with UNAVAILABLE <c>replica_behind</c>: the node keeps what it
/// holds and tries another replica. A replica that cannot reach its store refuses at once. With the
/// embedded store (one replica) there is nothing to be behind of, but a store that started empty: a node
/// holding configuration from the control plane's earlier start keeps it for a while (<see cref="RequireWarm"/>).
/// </summary>
internal static class StoreFreshness
{
    public const string Reason = "replica_behind";

    /// <summary>Returns once this replica may serve a node holding <paramref name="held"/> (empty: any); throws the refusal otherwise.</summary>
    public static async Task RequireAsync(StreamServices services, string held, string nodeId, CancellationToken cancellationToken)
    {
        if (held.Length == 0)
        {
            return;
        }
        if (!StorePosition.TryParse(held, out var node))
        {
            throw RpcErrors.InvalidArgument(NodeIdentity.Reason,
                [new("store_position", $"must be <epoch>:<revision> as a response's store_position, printable ASCII of at most {StorePosition.MaxLength} characters")]);
        }
        var cache = services.Cache;
        if (!cache.FollowsStore)
        {
            RequireWarm(services, node, held, nodeId);
            return;
        }
        var started = services.Clock.GetTimestamp();
        var waiting = false;
        while (true)
        {
            var advanced = cache.PositionAdvanced;
            var mine = cache.Position;
            if (mine is { } loaded && !loaded.IsBehind(node))
            {
                return;
            }
            var shown = mine?.ToString() ?? "nothing loaded";
            if (services.Store?.KnownUnreachable == true)
            {
                throw Refuse(services, nodeId, held, shown, "this control plane cannot reach its store and holds older configuration than the node; reconnect to another control plane");
            }
            var left = services.Options.BehindWait - services.Clock.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                if (mine is { } position && services.Positions?.Latest == position)
                {
                    // In step with the store, which has never reached the node's position: the store went back.
                    DiscoveryLog.AheadOfStore(services.Logger, nodeId, held, shown);
                    return;
                }
                throw Refuse(services, nodeId, held, shown,
                    $"this control plane has not caught up with its store within {services.Options.BehindWait.TotalSeconds:0.#} s; reconnect to another control plane");
            }
            if (!waiting)
            {
                waiting = true;
                DiscoveryLog.WaitingToCatchUp(services.Logger, nodeId, held, shown, services.Options.BehindWait);
            }
            cache.CatchUp();
            try
            {
                await advanced.WaitAsync(left, services.Clock, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Decided on the next turn.
            }
        }
    }

    /// <summary>
    /// The embedded store starts empty: within <see cref="DiscoveryOptions.RestartHold"/> of this start, a
    /// node holding configuration from an earlier one keeps it (refused, <c>store_warming</c>) while
    /// instances register again, rather than be told to remove everything that has not yet.
    /// </summary>
    private static void RequireWarm(StreamServices services, StorePosition node, string held, string nodeId)
    {
        var cache = services.Cache;
        if (string.Equals(node.Epoch, cache.EmbeddedEpoch, StringComparison.Ordinal))
        {
            return;
        }
        var since = services.Clock.GetElapsedTime(cache.StartedAt);
        var left = services.Options.RestartHold - since;
        if (left <= TimeSpan.Zero)
        {
            return;
        }
        DiscoveryLog.Warming(services.Logger, nodeId, held, left);
        throw RpcErrors.Exception(StatusCode.Unavailable, WarmingReason,
            $"this control plane started {since.TotalSeconds:0.#} s ago on the embedded store, which keeps nothing across restarts, and instances are registering again; " +
            $"keep the configuration you hold (store position {held}) and reconnect: nodes holding configuration are served from {left.TotalSeconds:0.#} s on");
    }

    public const string WarmingReason = "store_warming";

    private static RpcException Refuse(StreamServices services, string nodeId, string held, string mine, string why)
    {
        DiscoveryLog.Behind(services.Logger, nodeId, held, mine, why);
        return RpcErrors.Exception(StatusCode.Unavailable, Reason, $"the node holds configuration from store position {held}, this control plane {mine}: {why}");
    }
}
