using ControlPlane.Grpc;

namespace ControlPlane.Sdk;

/// <summary>
/// A control-plane call that failed. <see cref="ErrorCode"/> is the operations contract's error code
/// (<c>not_found</c>, <c>unauthorized</c>, <c>policy_invalid</c>, <c>backend_unreachable</c> ...):
/// the server's <c>google.rpc.ErrorInfo</c> reason when it sent one, otherwise derived from the
/// status code. Messages never contain tokens.
/// </summary>
public sealed class ControlPlaneException : Exception
{
    internal ControlPlaneException(string method, Uri address, int attempts, RpcException inner, long? lastContactMs = null)
        : base($"{method} failed at {address} after {attempts} attempt{(attempts == 1 ? "" : "s")}: {inner.StatusCode}: {inner.Status.Detail}", inner)
    {
        LastContactMs = lastContactMs;
        Method = method;
        Address = address;
        Attempts = attempts;
        Status = inner.Status;
        ErrorCode = inner.Status.Reason() ?? CodeOf(inner.StatusCode);
    }

    /// <summary>The method's full name, e.g. <c>controlplane.v1.PolicyService.SetPolicy</c>.</summary>
    public string Method { get; }

    /// <summary>The address of the last attempt.</summary>
    public Uri Address { get; }

    /// <summary>Attempts made (more than 1 only for idempotent methods).</summary>
    public int Attempts { get; }

    /// <summary>The final gRPC status, with its rich details.</summary>
    public Status Status { get; }

    /// <summary>
    /// Set when the error was answered from a replica's memory (<c>x-platform-last-contact</c>): the
    /// milliseconds since its store last answered. A NOT_FOUND so marked may be out of date.
    /// </summary>
    public long? LastContactMs { get; }

    /// <summary>The gRPC status code.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>The server's human-readable detail.</summary>
    public string Detail => Status.Detail;

    /// <summary>The contract's error code (see the class summary).</summary>
    public string ErrorCode { get; }

    /// <summary>The invalid fields of an INVALID_ARGUMENT answer (empty otherwise).</summary>
    public IReadOnlyList<FieldViolation> FieldViolations => Status.FieldViolations();

    private static string CodeOf(StatusCode code) => code switch
    {
        StatusCode.NotFound => "not_found",
        StatusCode.Unauthenticated or StatusCode.PermissionDenied => "unauthorized",
        // Nothing answered (or not in time): the platform's word for an unreachable dependency.
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => "backend_unreachable",
        StatusCode.InvalidArgument => "invalid_request",
        _ => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(code.ToString()),
    };
}
