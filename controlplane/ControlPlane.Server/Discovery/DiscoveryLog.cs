namespace ControlPlane.Server.Discovery;

internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Discovery cache is warm: {EndpointSets} endpoint sets and {Policies} routing policies loaded in {ElapsedMs} ms")]
    public static partial void Warm(ILogger logger, int endpointSets, int policies, long elapsedMs);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Reading resources from the stores failed ({Changes} changes waiting); retrying in {RetryIn}")]
    public static partial void LoadFailed(ILogger logger, Exception exception, int changes, TimeSpan retryIn);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Cache revision {Revision}: {Changed} of {Signalled} signalled resources changed")]
    public static partial void Applied(ILogger logger, long revision, int changed, int signalled);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "A resource watcher failed on revision {Revision}")]
    public static partial void WatcherFailed(ILogger logger, Exception exception, long revision);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Node {NodeId} opened {Variant} stream {StreamId} from {Peer}")]
    public static partial void StreamOpened(ILogger logger, string nodeId, string variant, long streamId, string peer);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Stream {StreamId} of node {NodeId} closed after {Duration}: {Outcome}")]
    public static partial void StreamClosed(ILogger logger, long streamId, string nodeId, TimeSpan duration, string outcome);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "Node {NodeId} rejected {TypeUrl} version {Version} (nonce {Nonce}): {Error}")]
    public static partial void Nack(ILogger logger, string nodeId, string typeUrl, string version, string nonce, string error);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Node {NodeId} answered {TypeUrl} nonce {Nonce}, which is not the latest sent ({Latest}): ACK/NACK ignored")]
    public static partial void StaleNonce(ILogger logger, string nodeId, string typeUrl, string nonce, string latest);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Closing stream {StreamId} of node {NodeId}: {Why}")]
    public static partial void Stuck(ILogger logger, long streamId, string nodeId, string why);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Warning,
        Message = "No dataplane token is configured ({Variable} or {FileVariable}; per-node tokens: {KeyVariable} or {KeyFileVariable}): discovery streams and load reports accept any caller")]
    public static partial void DataplaneOpen(ILogger logger, string variable, string fileVariable, string keyVariable, string keyFileVariable);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning, Message = "Refused dataplane call {Method} from {Peer}: {Why}")]
    public static partial void Refused(ILogger logger, string method, string peer, string why);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Warning, Message = "Refused a stream of node {NodeId}: it holds configuration from store position {NodePosition}, and this replica has {Position}: {Why}")]
    public static partial void Behind(ILogger logger, string nodeId, string nodePosition, string position, string why);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Warning,
        Message = "Node {NodeId} holds configuration from store position {NodePosition}, past the store's newest change {Position} (the store went back, e.g. restored from a backup); serving it the store's configuration")]
    public static partial void AheadOfStore(ILogger logger, string nodeId, string nodePosition, string position);

    [LoggerMessage(EventId = 4019, Level = LogLevel.Information,
        Message = "Node {NodeId} holds configuration from store position {NodePosition}, newer than this replica's {Position}: waiting up to {Wait} for it to catch up")]
    public static partial void WaitingToCatchUp(ILogger logger, string nodeId, string nodePosition, string position, TimeSpan wait);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Error,
        Message = "Not sent (first met for node {NodeId}): {What} of type {TypeUrl} is {Bytes} bytes, over the {Limit} bytes a discovery response can carry (ControlPlane:Discovery:MaxResponseBytes); nodes keep what they hold of it")]
    public static partial void TooLarge(ILogger logger, string nodeId, string what, string typeUrl, long bytes, int limit);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Debug,
        Message = "Asked node {NodeId} to keep the configuration it holds from an earlier start of this control plane ({Held}) for {Left} more: the embedded store started empty and instances are registering again")]
    public static partial void Warming(ILogger logger, string nodeId, string held, TimeSpan left);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Information,
        Message = "The embedded store starts empty: for {Hold}, nodes holding configuration from an earlier start keep it (refused with store_warming) while instances register again (ControlPlane:Discovery:RestartHold)")]
    public static partial void RestartHold(ILogger logger, TimeSpan hold);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Warning,
        Message = "Could not read the store's position after a load ({Reason}); the loaded configuration is sent with the position this replica holds")]
    public static partial void StorePositionUnread(ILogger logger, string reason);

    [LoggerMessage(EventId = 4024, Level = LogLevel.Warning,
        Message = "A full reload of the store would remove {Removed} of the {Endpoints} endpoints nodes are sent (the store may have come back empty): they are kept for {Hold} while instances register again (ControlPlane:Discovery:MassRemovalHold)")]
    public static partial void MassRemovalHeld(ILogger logger, int removed, int endpoints, TimeSpan hold);

    [LoggerMessage(EventId = 4025, Level = LogLevel.Warning,
        Message = "The mass-removal hold is over: the {Endpoints} endpoints still held back (their instances did not register again) are removed")]
    public static partial void MassRemovalReleased(ILogger logger, int endpoints);
}
