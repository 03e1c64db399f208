using Microsoft.Extensions.Logging;

namespace ControlPlane.Sdk.Internal;

/// <summary>The client's log events (9001-9099). Tokens never appear: only the variable they came from.</summary>
internal static partial class SdkLog
{
    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Control-plane client for {Addresses}: platform token from {PlatformTokenSource}, dataplane token from {DataplaneTokenSource}")]
    public static partial void Created(ILogger logger, string addresses, string platformTokenSource, string dataplaneTokenSource);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "{Method} at {Address} failed ({Code}: {Detail}); attempt {Attempt} of {MaxAttempts}, retrying in {Delay}")]
    public static partial void Retrying(ILogger logger, string method, Uri address, Grpc.StatusCode code, string detail, int attempt, int maxAttempts, TimeSpan delay);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Warning, Message = "Control plane {Address} unavailable; moving to {Next}")]
    public static partial void FailedOver(ILogger logger, Uri address, Uri next);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning, Message = "{Method} at {Address} was answered from the replica's memory (its store last answered {LastContactMs} ms before); asking {Next}")]
    public static partial void ServedFromMemory(ILogger logger, string method, Uri address, long lastContactMs, Uri next);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning, Message = "{Method}: returning an answer from a replica's memory (last asked {Address}; the store last answered {LastContactMs} ms before): it may be stale")]
    public static partial void ReturnedFromMemory(ILogger logger, string method, Uri address, long lastContactMs);
}
