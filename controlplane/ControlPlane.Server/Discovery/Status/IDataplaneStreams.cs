namespace ControlPlane.Server.Discovery.Status;

/// <summary>
/// Read-only view of the discovery streams open on this replica and what each node has been sent,
/// has acknowledged and has rejected: what the fleet sync view is built from. A stream's entry
/// exists exactly while the stream is open; <see cref="Changed"/> reports the last state of a
/// closing stream in <see cref="DataplaneStreamEvent.Final"/>, so a view can keep disconnected nodes
/// on its own terms.
/// </summary>
public interface IDataplaneStreams
{
    /// <summary>Open streams.</summary>
    int Count { get; }

    /// <summary>A snapshot of every open stream, ordered by node id, then stream id.</summary>
    IReadOnlyList<DataplaneStreamStatus> List();

    /// <summary>Snapshots of the open streams of <paramref name="nodeId"/> (usually one; two while a reconnect overlaps), oldest first.</summary>
    IReadOnlyList<DataplaneStreamStatus> ForNode(string nodeId);

    /// <summary>
    /// Raised after a stream opens, handles a request (subscription, ACK, NACK), starts writing a
    /// response (its bookkeeping is updated), finishes writing it, runs out of work, or closes; on the
    /// thread that caused it, outside every lock. Handlers must be quick and must not throw.
    /// </summary>
    event Action<DataplaneStreamEvent>? Changed;
}

public enum DataplaneStreamEventKind
{
    Opened,
    Request,

    /// <summary>A response was built and recorded as sent; its write begins.</summary>
    Sending,

    /// <summary>The write of a response completed (the transport took it).</summary>
    Sent,

    /// <summary>The stream's writer has nothing (more) to send: what was queued went out or turned out to be unchanged.</summary>
    Idle,
    Closed,

    /// <summary>
    /// The stream was refused before it was served or listed (the node holds configuration this
    /// replica has not caught up with, or the embedded store is warming up after a restart).
    /// </summary>
    Refused,
}

/// <summary>
/// What happened to which stream; <see cref="Final"/> is the stream's last state when it closed or
/// was refused, <see cref="Refusal"/> the status it was refused with.
/// </summary>
public readonly record struct DataplaneStreamEvent(DataplaneStreamEventKind Kind, string NodeId, long StreamId, DataplaneStreamStatus? Final = null, Google.Rpc.Status? Refusal = null);
