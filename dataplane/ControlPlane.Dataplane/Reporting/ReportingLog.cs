using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Reporting;

internal static partial class ReportingLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Load-report stream to {Address} open (node {NodeId}, epoch {Epoch}, {Pending} reports to send)")]
    public static partial void Connecting(ILogger logger, string address, string nodeId, string epoch, int pending);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Load-report stream to {Address} ended: {Reason}; {Pending} reports kept, reconnecting in {Delay}")]
    public static partial void StreamEnded(ILogger logger, string address, string reason, int pending, TimeSpan delay);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Load report {Epoch}#{Sequence} acknowledged by {ControlPlaneId} (up to {Acked})")]
    public static partial void Acknowledged(ILogger logger, string epoch, ulong sequence, string controlPlaneId, ulong acked);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "The control plane answered {Acked} for report {OldEpoch}#{Sequence}: it no longer knows that epoch's earlier reports; {Pending} kept reports move to epoch {NewEpoch}")]
    public static partial void Renumbered(ILogger logger, string oldEpoch, ulong sequence, ulong acked, int pending, string newEpoch);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Report interval set to {Interval} by the control plane")]
    public static partial void IntervalChanged(ILogger logger, TimeSpan interval);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Could not save the load-report state to {Path}; reports are kept in memory")]
    public static partial void PersistFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Load-report state at {Path} is damaged ({Reason}); moved to {Aside}, starting epoch {Epoch}")]
    public static partial void StateDamaged(ILogger logger, string path, string reason, string aside, string epoch);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Resuming load-report epoch {Epoch} after sequence {LastSequence} with {Pending} unacknowledged reports from {Path}")]
    public static partial void Resumed(ILogger logger, string epoch, ulong lastSequence, int pending, string path);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Stopping with {Pending} load reports unacknowledged after {FlushTimeout}: {Where}")]
    public static partial void StoppedWithPending(ILogger logger, int pending, TimeSpan flushTimeout, string where);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "The control plane refused load report {Epoch}#{Sequence} for its size ({Reason}); split into {Parts} reports, and later intervals packed at most {MaxEntries} entries each")]
    public static partial void Split(ILogger logger, string epoch, ulong sequence, string reason, int parts, int maxEntries);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "The control plane refused load report {Epoch}#{Sequence} as invalid ({Reason}); {Requests} requests in {Images} image entries ({What}) set aside, never to be counted: {Where}")]
    public static partial void SetAside(ILogger logger, string epoch, ulong sequence, string reason, long requests, int images, string what, string where);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Error, Message = "The control plane refused load report {Epoch}#{Sequence} as invalid and it could not be set aside in {Path}; it is sent again")]
    public static partial void SetAsideFailed(ILogger logger, string epoch, ulong sequence, string path, Exception exception);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "The control plane refused load-report epoch {Epoch} ({Reason}); {Pending} kept reports move to epoch {NewEpoch}")]
    public static partial void EpochRefused(ILogger logger, string epoch, string reason, int pending, string newEpoch);
}
