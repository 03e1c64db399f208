namespace ControlPlane.Server.Stats;

internal static partial class StatsLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Load report {Epoch}#{Sequence} of node {NodeId} accepted: {Requests} requests over {Images} images")]
    public static partial void Accepted(ILogger logger, string nodeId, string epoch, ulong sequence, long requests, int images);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Load report {Epoch}#{Sequence} of node {NodeId} is a resend (last accepted {LastAccepted}): acknowledged, not counted again")]
    public static partial void Duplicate(ILogger logger, string nodeId, string epoch, ulong sequence, ulong lastAccepted);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Load report {Epoch}#{Sequence} of node {NodeId} leaves a gap after {LastAccepted}: not counted; the node resends from there")]
    public static partial void Gap(ILogger logger, string nodeId, string epoch, ulong sequence, ulong lastAccepted);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Load report stream of node {NodeId} from {Peer} refused: {Reason}")]
    public static partial void Invalid(ILogger logger, string nodeId, string peer, string reason);
}
