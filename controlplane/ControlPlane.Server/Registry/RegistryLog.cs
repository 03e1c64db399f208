namespace ControlPlane.Server.Registry;

internal static partial class RegistryLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Registered instance {InstanceId} ({Name}, {Image}) at {Host}:{Port}, TTL {TtlSeconds}s")]
    public static partial void Registered(ILogger logger, string instanceId, string name, string image, string host, int port, int ttlSeconds);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Instance {InstanceId} ({Name}) expired: no heartbeat since {LastHeartbeatAt:O}")]
    public static partial void Expired(ILogger logger, string instanceId, string name, DateTimeOffset lastHeartbeatAt);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Removed {Count} instances expired for longer than {Retention}")]
    public static partial void Removed(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Deregistered instance {InstanceId} ({Name})")]
    public static partial void Deregistered(ILogger logger, string instanceId, string name);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "Instance {InstanceId} ({Image}) was deregistered while the store had no record of it: it leaves the mass-removal hold")]
    public static partial void ReleasedFromHold(ILogger logger, string instanceId, string image);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "Self-preservation engaged: {Overdue} of {Live} live instances missed their deadline ({Share:P1} of the fleet within {Window} > {Threshold:P0}); expiry is suspended until heartbeats recover")]
    public static partial void SelfPreservationEngaged(ILogger logger, int overdue, int live, double share, TimeSpan window, double threshold);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Self-preservation released: heartbeats recovered ({Overdue} overdue of {Live} live); expiry resumes")]
    public static partial void SelfPreservationReleased(ILogger logger, int overdue, int live);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "Expiry pass failed; retrying in {RetryIn}")]
    public static partial void ExpiryFailed(ILogger logger, Exception exception, TimeSpan retryIn);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Instance {InstanceId} is now {Status}")]
    public static partial void StatusChanged(ILogger logger, string instanceId, string status);
}
