namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>The errors of the transcoder itself: requests it cannot turn into a request message.</summary>
internal static class TranscodingErrors
{
    /// <summary>The ErrorInfo reason of every request the transcoder rejects as malformed.</summary>
    public const string InvalidRequestReason = "invalid_request";

    public const string UnsupportedMediaTypeReason = "unsupported_media_type";

    public const string PayloadTooLargeReason = "payload_too_large";

    /// <summary>INVALID_ARGUMENT, reason <c>invalid_request</c>, one BadRequest violation per entry.</summary>
    public static RpcException InvalidRequest(IReadOnlyList<FieldViolation> violations) =>
        RpcErrors.InvalidArgument(InvalidRequestReason, violations);

    /// <summary>INVALID_ARGUMENT, reason <c>invalid_request</c>; a violation on <paramref name="field"/> when there is one to name.</summary>
    public static RpcException InvalidRequest(string message, string? field) =>
        field is null
            ? RpcErrors.Exception(StatusCode.InvalidArgument, InvalidRequestReason, message)
            : RpcErrors.InvalidArgument(InvalidRequestReason, [new FieldViolation(field, message)]);
}

/// <summary>
/// A request refused at the HTTP level, before the call starts (an unsupported Content-Type, a body
/// over the limit): answered with <see cref="HttpStatus"/> and a JSON error body.
/// </summary>
internal sealed class HttpRefusalException(int httpStatus, Status status) : Exception(status.Detail)
{
    public int HttpStatus { get; } = httpStatus;

    public Status Status { get; } = status;
}
