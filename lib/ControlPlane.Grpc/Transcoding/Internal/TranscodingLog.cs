using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Transcoding.Internal;

internal static partial class TranscodingLog
{
    public const string Category = "ControlPlane.Grpc.Transcoding";

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Mapped REST {HttpMethod} {Template} to '{Method}'.")]
    public static partial void Mapped(ILogger logger, string httpMethod, string template, string method);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "REST request to '{Method}' refused with HTTP {HttpStatus}: {Detail}")]
    public static partial void Refused(ILogger logger, string method, int httpStatus, string detail);

    [LoggerMessage(EventId = 103, Level = LogLevel.Error, Message = "Failed to write the JSON response of '{Method}'.")]
    public static partial void ResponseRenderFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "REST stream of '{Method}' ended with {StatusCode} after its response started; the response was aborted: {Detail}")]
    public static partial void StreamAborted(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Error writing the REST response of '{Method}'; the client is gone.")]
    public static partial void ResponseWriteFailed(ILogger logger, string method, Exception exception);
}
