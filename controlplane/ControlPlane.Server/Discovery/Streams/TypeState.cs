namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// One stream's state for one resource type: the subscription, the work queued for the writer, and
/// the ACK bookkeeping. Owned by its stream and only touched under the stream's lock.
/// </summary>
internal abstract class TypeState(string typeUrl)
{
    public string TypeUrl { get; } = typeUrl;

    /// <summary>Subscribed to every resource of the type.</summary>
    public bool Wildcard { get; set; }

    /// <summary>Names subscribed explicitly, besides a wildcard.</summary>
    public SortedSet<string> Names { get; } = new(StringComparer.Ordinal);

    /// <summary>The next response must go out even if it carries nothing new (first request, subscription change).</summary>
    public bool Respond { get; set; }

    /// <summary>When the work now queued was first queued (clock timestamp); 0 when nothing is queued.</summary>
    public long PendingSince { get; set; }

    /// <summary>When the earliest change behind the queued work was signalled (clock timestamp); 0 when none.</summary>
    public long ChangeObservedAt { get; set; }

    /// <summary>The same, for the response awaiting its ACK (change-to-ACK latency).</summary>
    public long OutstandingObservedAt { get; set; }

    public bool AwaitingAck { get; set; }

    public string NonceSent { get; set; } = "";

    public string VersionSent { get; set; } = "";

    public DateTimeOffset? SentAt { get; set; }

    public string VersionAcked { get; set; } = "";

    public DateTimeOffset? AckedAt { get; set; }

    public string VersionRejected { get; set; } = "";

    public Google.Rpc.Status? RejectionError { get; set; }

    public DateTimeOffset? RejectedAt { get; set; }

    /// <summary>Something is queued for the writer.</summary>
    public abstract bool HasWork { get; }

    /// <summary>Resources (and forced answers) queued.</summary>
    public abstract int QueueDepth { get; }

    /// <summary>Resources the node holds of this type, as far as the server knows.</summary>
    public abstract int ResourceCount { get; }
}
