namespace ControlPlane.Server.Storage.Redis;

internal static partial class RedisStoreLog
{
    [LoggerMessage(EventId = 8002, Level = LogLevel.Information, Message = "Redis store at {Url}, key prefix '{KeyPrefix}', password from {PasswordSource}")]
    public static partial void Connecting(ILogger logger, string url, string keyPrefix, string passwordSource);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "Lost the Redis connection to {EndPoint} ({FailureType}); the store is unavailable until it returns")]
    public static partial void ConnectionLost(ILogger logger, string endPoint, string failureType);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Information, Message = "Redis connection to {EndPoint} restored")]
    public static partial void ConnectionRestored(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Information, Message = "Redis answers again after being unreachable")]
    public static partial void Reachable(ILogger logger);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "Lease checkpoint of {Count} renewals failed; they stay pending for the next checkpoint")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 8007, Level = LogLevel.Warning, Message = "The final lease checkpoint failed as the replica stopped; renewals of up to {Count} instances were not written (the expiry lag covers them)")]
    public static partial void FinalCheckpointFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 8008, Level = LogLevel.Warning, Message = "Could not renew this replica's expiry lag advertisement; heartbeats are answered once Redis holds them until it gets through")]
    public static partial void AdvertiseFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 8009, Level = LogLevel.Warning, Message = "The Redis client has had no connection to {EndPoint} for {Seconds:0.#} s; replacing it with a fresh one")]
    public static partial void ReplacingStuckClient(ILogger logger, string endPoint, double seconds);

    [LoggerMessage(EventId = 8010, Level = LogLevel.Warning, Message = "Could not replace the Redis client; the next check tries again")]
    public static partial void ReplaceFailed(ILogger logger, Exception exception);
}
