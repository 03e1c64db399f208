using Google.Protobuf;
using Google.Rpc;

namespace ControlPlane.Grpc;

/// <summary>
/// Rich errors: a status whose <c>google.rpc.Status</c> details carry a <c>google.rpc.ErrorInfo</c>
/// with a machine-readable reason (the operations contract's error codes: <c>not_found</c>,
/// <c>policy_invalid</c>, <c>unauthorized</c> ...) and, for invalid input, a
/// <c>google.rpc.BadRequest</c> listing each offending field. REST callers see the same details
/// rendered as JSON by the transcoder.
/// </summary>
public static class RpcErrors
{
    /// <summary>The ErrorInfo domain of this project's errors.</summary>
    public const string Domain = "controlplane.v1";

    /// <summary>A status with an ErrorInfo carrying <paramref name="reason"/>.</summary>
    public static Status Status(StatusCode code, string reason, string message, IReadOnlyDictionary<string, string>? metadata = null, params IMessage[] moreDetails)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        // Google.Api.CommonProtos 2.0.0 names ErrorInfo field 1 "type"; on the wire and in
        // today's google/rpc/error_details.proto it is "reason" (same field number).
        var info = new ErrorInfo { Type = reason, Domain = Domain };
        if (metadata is not null)
        {
            foreach (var (k, v) in metadata)
            {
                info.Metadata[k] = v;
            }
        }
        return new Status(code, message, [info, .. moreDetails]);
    }

    /// <summary>An exception ending the call with <paramref name="code"/> and an ErrorInfo reason.</summary>
    public static RpcException Exception(StatusCode code, string reason, string message, IReadOnlyDictionary<string, string>? metadata = null) =>
        new(Status(code, reason, message, metadata));

    /// <summary>
    /// The most field violations an error's message lists, and the bound the transcoder (and the
    /// load-report validator) keep to: enough to fix a request by, while a request with thousands of
    /// bad fields cannot make its error thousands of lines.
    /// </summary>
    public const int MaxFieldViolations = 20;

    /// <summary>
    /// INVALID_ARGUMENT with one BadRequest field violation per entry (the caller bounds the list). The
    /// message, which clients often print whole, lists the first <see cref="MaxFieldViolations"/> and
    /// says how many more there are.
    /// </summary>
    public static RpcException InvalidArgument(string reason, IReadOnlyList<FieldViolation> violations) =>
        InvalidArgument(reason, violations, checkingStopped: false);

    /// <summary>
    /// INVALID_ARGUMENT as <see cref="InvalidArgument(string, IReadOnlyList{FieldViolation})"/>;
    /// <paramref name="checkingStopped"/> says the caller found more violations than it kept and stopped
    /// looking, so the request has more than it lists and the message says so.
    /// </summary>
    public static RpcException InvalidArgument(string reason, IReadOnlyList<FieldViolation> violations, bool checkingStopped)
    {
        ArgumentNullException.ThrowIfNull(violations);
        var badRequest = new BadRequest();
        foreach (var v in violations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description });
        }
        var listed = Math.Min(violations.Count, MaxFieldViolations);
        var each = string.Join("; ", violations.Take(listed).Select(v => $"{v.Field}: {v.Description}"));
        var message = (violations.Count, checkingStopped) switch
        {
            (1, false) => each,
            (_, true) => $"more than {violations.Count} invalid fields (checking stopped at {violations.Count}): {each}"
                + (violations.Count > listed ? $"; and {violations.Count - listed} more" : ""),
            (> MaxFieldViolations, _) => $"{violations.Count} invalid fields, the first {listed}: {each}; and {violations.Count - listed} more",
            _ => $"{violations.Count} invalid fields: {each}",
        };
        return new RpcException(Status(StatusCode.InvalidArgument, reason, message, null, badRequest));
    }

    /// <summary>The ErrorInfo reason of <paramref name="status"/>, or null when it carries none.</summary>
    public static string? Reason(this Status status) => status.GetDetail<ErrorInfo>()?.Type is { Length: > 0 } r ? r : null;

    /// <summary><paramref name="status"/> with its ErrorInfo reason replaced by <paramref name="reason"/> (added when it has none); code, message and other details kept.</summary>
    public static Status WithReason(Status status, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        var details = status.Details?.Clone() ?? new Google.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail };
        var at = details.Details.ToList().FindIndex(d => d.Is(ErrorInfo.Descriptor));
        var info = at >= 0 ? details.Details[at].Unpack<ErrorInfo>() : new ErrorInfo { Domain = Domain };
        info.Type = reason;
        if (at >= 0)
        {
            details.Details[at] = Google.Protobuf.WellKnownTypes.Any.Pack(info);
        }
        else
        {
            details.Details.Insert(0, Google.Protobuf.WellKnownTypes.Any.Pack(info));
        }
        return new Status(status.StatusCode, status.Detail, Details: details);
    }

    /// <summary>The BadRequest field violations of <paramref name="status"/> (empty when none).</summary>
    public static IReadOnlyList<FieldViolation> FieldViolations(this Status status) =>
        status.GetDetail<BadRequest>()?.FieldViolations.Select(v => new FieldViolation(v.Field, v.Description)).ToArray() ?? [];
}

/// <summary>One invalid field of a request: its path in proto field names ("metadata.weight") and what is wrong.</summary>
public readonly record struct FieldViolation(string Field, string Description);
