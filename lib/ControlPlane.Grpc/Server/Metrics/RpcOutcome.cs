namespace ControlPlane.Grpc.Server.Metrics;

/// <summary>The status a call ended with, as the client saw it, derived the way the server runtime derives it.</summary>
internal static class RpcOutcome
{
    // The canonical code names (google.rpc.Code, gRPC doc/statuscodes.md), indexed by code.
    private static readonly string[] Names =
    [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    public static string Name(StatusCode code) => (uint)code < (uint)Names.Length ? Names[(int)code] : "UNKNOWN";

    /// <summary>
    /// A deadline timer runs on a millisecond tick clock and may fire just before the wall clock
    /// reaches <see cref="ServerCallContext.Deadline"/>; and the client, whose own deadline started
    /// earlier, may reset the stream just before the server's fires. Within this margin of the
    /// deadline, a cancelled call counts as DEADLINE_EXCEEDED, which is what its client saw.
    /// </summary>
    internal static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Once the deadline has passed and cancelled the call, the server has already sent
    /// DEADLINE_EXCEEDED, whatever the handler does next (PROTOCOL-HTTP2.md, grpc-timeout); so that
    /// wins. Otherwise an <see cref="RpcException"/> carries its code; any other exception on a
    /// cancelled call is the client leaving (CANCELLED, as the runtime reports it), and on a live
    /// call a handler failure (UNKNOWN); a normal return ends with <see cref="ServerCallContext.Status"/>,
    /// or CANCELLED when the client left first (no status reached it).
    /// </summary>
    public static StatusCode Of(ServerCallContext context, Exception? failure, TimeProvider time)
    {
        var cancelled = context.CancellationToken.IsCancellationRequested;
        if (cancelled && context.Deadline != DateTime.MaxValue && context.Deadline - DeadlineMargin <= time.GetUtcNow().UtcDateTime)
        {
            return StatusCode.DeadlineExceeded;
        }
        return failure switch
        {
            // A handler that returns once the client has reset the stream (a watch ending on its token): the client saw CANCELLED.
            null when cancelled => StatusCode.Cancelled,
            null => context.Status.StatusCode,
            RpcException rpc => rpc.StatusCode,
            _ when cancelled => StatusCode.Cancelled,
            _ => StatusCode.Unknown,
        };
    }
}
