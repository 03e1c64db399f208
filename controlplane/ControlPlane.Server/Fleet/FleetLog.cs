namespace ControlPlane.Server.Fleet;

internal static partial class FleetLog
{
    [LoggerMessage(EventId = 8121, Level = LogLevel.Debug, Message = "Publishing the status of node {NodeId} failed ({Why}); retrying at the next tick")]
    public static partial void PublishFailed(ILogger logger, string nodeId, string why);

    [LoggerMessage(EventId = 8122, Level = LogLevel.Error, Message = "Publishing the fleet's status failed; retrying at the next tick")]
    public static partial void PublishError(ILogger logger, Exception exception);
}
