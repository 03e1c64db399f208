namespace ControlPlane.Dataplane.Forwarder;

/// <summary>How one attempt to forward a request ended.</summary>
internal enum ForwardOutcome
{
    /// <summary>The instance's response (any status) was relayed in full.</summary>
    Completed,

    /// <summary>No connection could be made: nothing was sent (safe to retry elsewhere).</summary>
    ConnectFailed,

    /// <summary>The instance kept the exchange waiting past the activity timeout before its response headers.</summary>
    Timeout,

    /// <summary>Connected, but no usable response: reset, closed, or a protocol error.</summary>
    UpstreamFailed,

    /// <summary>
    /// The instance refused the request's HTTP/2 stream (REFUSED_STREAM): it did not process it (RFC 9113
    /// §8.7), whatever its method. An instance at its limit, not a dead one: no failure for passive health.
    /// </summary>
    Refused,

    /// <summary>The client's request body could not be read.</summary>
    RequestBodyFailed,

    /// <summary>The client's request cannot be expressed as an upstream request (nothing was sent).</summary>
    RequestInvalid,

    /// <summary>The instance broke off, or went silent past the activity timeout, while sending the response body (the client's response was aborted).</summary>
    ResponseBodyFailed,

    /// <summary>
    /// The instance was lost while sending a gRPC response, between two of its messages: the call was
    /// ended with UNAVAILABLE in the trailers, the client's stream closed normally.
    /// </summary>
    LostBetweenMessages,

    /// <summary>The client went away.</summary>
    ClientAborted,
}

/// <param name="Outcome">How it ended.</param>
/// <param name="UpstreamStatus">The instance's HTTP status when it answered, else 0.</param>
/// <param name="Error">What failed, for the log.</param>
/// <param name="ResponseBytes">Response body bytes written to the client (the load reports' bytes_tx).</param>
internal readonly record struct ForwardResult(ForwardOutcome Outcome, int UpstreamStatus = 0, Exception? Error = null, long ResponseBytes = 0)
{
    /// <summary>Counts against the instance for passive health: it could not be reached, kept the exchange waiting, broke off, or answered 5xx.</summary>
    public bool IsUpstreamFailure =>
        Outcome is ForwardOutcome.ConnectFailed or ForwardOutcome.Timeout or ForwardOutcome.UpstreamFailed or ForwardOutcome.ResponseBodyFailed
            or ForwardOutcome.LostBetweenMessages
        || (Outcome == ForwardOutcome.Completed && UpstreamStatus >= 500);
}
