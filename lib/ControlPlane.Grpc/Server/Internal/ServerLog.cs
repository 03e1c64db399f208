using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server.Internal;

internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Error when executing service method '{Method}'.")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Deadline exceeded for '{Method}' after {Timeout}.")]
    public static partial void DeadlineExceeded(ILogger logger, string method, TimeSpan timeout);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Call to '{Method}' refused: {Reason}.")]
    public static partial void CallRefused(ILogger logger, string method, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Error writing the status of '{Method}'; the client is gone.")]
    public static partial void StatusWriteFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Call to '{Method}' ended with {StatusCode}: {Detail}")]
    public static partial void ProtocolError(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Unimplemented gRPC path '{Path}'.")]
    public static partial void Unimplemented(ILogger logger, string path);
}
