using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>The errors of the transcoder itself: requests it cannot turn into a request message.</summary>
internal static class TranscodingErrors
{
    /// <summary>The ErrorInfo reason of every request the transcoder rejects as malformed.</summary>
    public const string InvalidRequestReason = "invalid_request";

    public const string UnsupportedMediaTypeReason = "unsupported_media_type";

    public const string PayloadTooLargeReason = "payload_too_large";

    /// <summary>The operations contract's code for an unknown service or image, and so for an unknown path.</summary>
    public const string NotFoundReason = "not_found";

    /// <summary>INVALID_ARGUMENT, reason <c>invalid_request</c>, one BadRequest violation per entry.</summary>
    public static RpcException InvalidRequest(IReadOnlyList<FieldViolation> violations) =>
        RpcErrors.InvalidArgument(InvalidRequestReason, violations);

    /// <summary>INVALID_ARGUMENT, reason <c>invalid_request</c>; a violation on <paramref name="field"/> when there is one to name.</summary>
    public static RpcException InvalidRequest(string message, string? field) =>
        field is null
            ? RpcErrors.Exception(StatusCode.InvalidArgument, InvalidRequestReason, message)
            : RpcErrors.InvalidArgument(InvalidRequestReason, [new FieldViolation(field, message)]);

    /// <summary>
    /// The status of an answer HTTP gives before any method runs: an unknown path (404, NOT_FOUND), a
    /// method the path does not take (405), a body too large (413) or not JSON (415), a body Kestrel
    /// could not read. No google.rpc.Code maps to 405, 413 or 415, so they carry INVALID_ARGUMENT, the
    /// code of every other request that cannot be served as sent (not RESOURCE_EXHAUSTED, which this API
    /// answers with 429, "retry later"); the reason tells them apart.
    /// </summary>
    public static Status HttpRefusal(int httpStatus, string message) => httpStatus switch
    {
        StatusCodes.Status404NotFound => RpcErrors.Status(StatusCode.NotFound, NotFoundReason, message),
        StatusCodes.Status413PayloadTooLarge => RpcErrors.Status(StatusCode.InvalidArgument, PayloadTooLargeReason, message),
        StatusCodes.Status415UnsupportedMediaType => RpcErrors.Status(StatusCode.InvalidArgument, UnsupportedMediaTypeReason, message),
        _ => RpcErrors.Status(StatusCode.InvalidArgument, InvalidRequestReason, message),
    };
}

/// <summary>
/// A request refused at the HTTP level, before the call starts (an unsupported Content-Type, a body
/// over the limit): answered with <see cref="HttpStatus"/> and a JSON error body.
/// </summary>
internal sealed class HttpRefusalException(int httpStatus, string message) : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public Status Status { get; } = TranscodingErrors.HttpRefusal(httpStatus, message);
}
