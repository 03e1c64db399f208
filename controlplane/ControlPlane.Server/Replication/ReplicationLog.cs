namespace ControlPlane.Server.Replication;

internal static partial class ReplicationLog
{
    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "In step with the store at revision {Revision} (epoch {Epoch}): reloading every resource")]
    public static partial void Synced(ILogger logger, long revision, string epoch);

    [LoggerMessage(EventId = 8102, Level = LogLevel.Warning, Message = "Lost track of the store's changes ({Why}; applied {Applied}, store at {Current}): reloading every resource")]
    public static partial void Resync(ILogger logger, string why, long applied, long current);

    [LoggerMessage(EventId = 8103, Level = LogLevel.Information, Message = "Caught up {Count} missed changes from the change log, revision {From} to {To}")]
    public static partial void CaughtUp(ILogger logger, int count, long from, long to);

    [LoggerMessage(EventId = 8104, Level = LogLevel.Debug, Message = "Catching up with the store failed ({Why}); the next revision check retries")]
    public static partial void CatchUpFailed(ILogger logger, string why);

    [LoggerMessage(EventId = 8105, Level = LogLevel.Error, Message = "Catching up with the store failed; the next revision check retries")]
    public static partial void CatchUpError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8111, Level = LogLevel.Warning, Message = "Extended {Count} leases after the store outage: no instance expires for heartbeats that could not be recorded")]
    public static partial void LeasesExtended(ILogger logger, int count);

    [LoggerMessage(EventId = 8114, Level = LogLevel.Warning, Message = "The store has been unreachable for {Seconds:0.#} s: ended {Count} discovery streams, so their nodes can reconnect to a replica that reaches it; the streams opened since are ended in {Next:0.#} s if it is still unreachable")]
    public static partial void NodesHandedOff(ILogger logger, double seconds, int count, double next);

    [LoggerMessage(EventId = 8115, Level = LogLevel.Information, Message = "No lease extended after the outage: Redis has heard from another replica within the last {Margin:0.#} s, so it was serving agents through the others (or one back from the same outage has just extended the leases)")]
    public static partial void OnlyThisReplicaWasCutOff(ILogger logger, double margin);

    [LoggerMessage(EventId = 8113, Level = LogLevel.Warning, Message = "The store is unreachable: writes fail with UNAVAILABLE; discovery streams keep serving the last snapshot")]
    public static partial void StoreLost(ILogger logger);
}
