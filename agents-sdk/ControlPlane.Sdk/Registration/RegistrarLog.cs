using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Registration;

internal static partial class RegistrarLog
{
    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "Heartbeat stream to {Address} open for {Instances} instances, every {Interval}")]
    public static partial void StreamOpened(ILogger logger, Uri address, int instances, TimeSpan interval);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Heartbeat stream to {Address} failed ({Reason}); reconnecting in {Delay}")]
    public static partial void StreamFailed(ILogger logger, Uri address, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Warning, Message = "{Count} instances unknown to the control plane (expired or forgotten): registering them again")]
    public static partial void Reregistering(ILogger logger, int count);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Warning, Message = "Registering {InstanceId} again failed ({ErrorCode}: {Detail}); retried next round")]
    public static partial void ReregisterFailed(ILogger logger, string instanceId, string errorCode, string detail);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Error, Message = "The control plane calls instance id {InstanceId} malformed ({Detail}); no longer keeping it alive")]
    public static partial void InvalidId(ILogger logger, string instanceId, string detail);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Information, Message = "Stopping: {Count} instances draining for {DrainPeriod}, then deregistered")]
    public static partial void Draining(ILogger logger, int count, TimeSpan drainPeriod);

    [LoggerMessage(EventId = 9107, Level = LogLevel.Warning, Message = "{Action} of {InstanceId} on stop failed ({ErrorCode}: {Detail})")]
    public static partial void StopCallFailed(ILogger logger, string action, string instanceId, string errorCode, string detail);

    [LoggerMessage(EventId = 9108, Level = LogLevel.Error, Message = "A RoundCompleted handler threw")]
    public static partial void HandlerFailed(ILogger logger, Exception exception);
}
