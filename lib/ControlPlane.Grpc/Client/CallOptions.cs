namespace ControlPlane.Grpc.Client;

/// <summary>Per-call settings.</summary>
public readonly record struct CallOptions
{
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>Custom metadata sent as request headers.</summary>
    public Metadata? Headers { get; init; }

    /// <summary>Absolute deadline (UTC); sent as <c>grpc-timeout</c> and enforced locally.</summary>
    public DateTime? Deadline { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>Compress request messages with this encoding ("gzip"); null uses the channel's default.</summary>
    public string? RequestCompression { get; init; }

    /// <summary>Shorthand: a deadline this far from now.</summary>
    public TimeSpan? Timeout { get; init; }
}
