using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Discovery;

internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 9201, Level = LogLevel.Information, Message = "Discovery stream to {Address} opening (node {NodeId})")]
    public static partial void Connecting(ILogger logger, Uri address, string nodeId);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Warning, Message = "Discovery stream to {Address} ended: {Reason}; reconnecting in {Delay}")]
    public static partial void StreamEnded(ILogger logger, Uri address, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Debug, Message = "Accepted {TypeUrl} version {Version} (nonce {Nonce}): {Updated} updated, {Removed} removed")]
    public static partial void Acked(ILogger logger, string typeUrl, string version, string nonce, int updated, int removed);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Warning, Message = "Rejected {TypeUrl} version {Version} (nonce {Nonce}): {Error}")]
    public static partial void Nacked(ILogger logger, string typeUrl, string version, string nonce, string error);

    [LoggerMessage(EventId = 9205, Level = LogLevel.Error, Message = "A Changed or Rejected handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);
}
