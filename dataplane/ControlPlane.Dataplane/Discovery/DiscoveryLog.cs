using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Discovery;

internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 2501, Level = LogLevel.Information, Message = "Discovery stream to {Address} open (node {NodeId})")]
    public static partial void Connecting(ILogger logger, string address, string nodeId);

    [LoggerMessage(EventId = 2502, Level = LogLevel.Warning, Message = "Discovery stream to {Address} ended: {Reason}; reconnecting in {Delay}")]
    public static partial void StreamEnded(ILogger logger, string address, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 2503, Level = LogLevel.Information, Message = "Applied {TypeUrl} version {Version} (nonce {Nonce}): {Updated} updated, {Removed} removed")]
    public static partial void Acked(ILogger logger, string typeUrl, string version, string nonce, int updated, int removed);

    [LoggerMessage(EventId = 2504, Level = LogLevel.Warning, Message = "Rejected {TypeUrl} version {Version} (nonce {Nonce}): {Error}")]
    public static partial void Nacked(ILogger logger, string typeUrl, string version, string nonce, string error);

    [LoggerMessage(EventId = 2505, Level = LogLevel.Warning, Message = "No control plane answered within {After}: serving the last-known-good configuration ({Resources} resources from {Path})")]
    public static partial void LastKnownGoodLoaded(ILogger logger, TimeSpan after, int resources, string path);

    [LoggerMessage(EventId = 2506, Level = LogLevel.Warning, Message = "Last-known-good configuration at {Path} not usable: {Reason}")]
    public static partial void LastKnownGoodUnusable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2507, Level = LogLevel.Warning, Message = "Could not persist the last-known-good configuration to {Path}; retrying in {Delay}")]
    public static partial void PersistFailed(ILogger logger, string path, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 2511, Level = LogLevel.Warning, Message = "Stopping before the last-known-good configuration was written to {Path} (waited {Timeout}): a restart may serve an older one")]
    public static partial void StoppedBeforeWrite(ILogger logger, string path, TimeSpan timeout);

    [LoggerMessage(EventId = 2509, Level = LogLevel.Information, Message = "Initial fetch complete: serving {EndpointSets} endpoint sets and {RoutingPolicies} routing policies")]
    public static partial void InitialFetchComplete(ILogger logger, int endpointSets, int routingPolicies);

    [LoggerMessage(EventId = 2510, Level = LogLevel.Warning, Message = "Initial fetch timed out after {Timeout}: serving what arrived, without {Missing}")]
    public static partial void InitialFetchTimedOut(ILogger logger, TimeSpan timeout, string missing);
}
