namespace ControlPlane.Grpc;

/// <summary>Thrown by clients for a call that ended with a non-OK status, and by handlers to end one.</summary>
public sealed class RpcException : Exception
{
    public RpcException(Status status)
        : this(status, new Metadata(), null)
    {
    }

    public RpcException(Status status, Metadata trailers, Exception? inner = null)
        : base(status.ToString(), inner)
    {
        ArgumentNullException.ThrowIfNull(trailers);
        Status = status;
        Trailers = trailers;
    }

    public RpcException(StatusCode code, string detail)
        : this(new Status(code, detail))
    {
    }

    public Status Status { get; }

    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailing metadata sent with the status (received, on the client).</summary>
    public Metadata Trailers { get; }
}
