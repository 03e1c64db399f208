using ControlPlane.Api.V1;

namespace ControlPlane.Server.Discovery.Status;

/// <summary>One open discovery stream at one moment (an immutable snapshot).</summary>
/// <param name="StreamId">Process-unique stream id.</param>
/// <param name="Node">The identity the node sent on the stream's first request (do not modify).</param>
/// <param name="Variant">"sotw" or "delta".</param>
/// <param name="Peer">The stream's remote address (e.g. "ipv4:10.0.0.7:50432").</param>
/// <param name="ControlPlaneId">This replica's id, as sent in responses.</param>
/// <param name="ConnectedSince">When the stream opened.</param>
/// <param name="LastRequestAt">When the node last sent a request (subscription, ACK or NACK).</param>
/// <param name="QueueDepth">Resources (and forced answers) waiting to be sent, over all types.</param>
/// <param name="BlockedSince">Since when the node has been holding back work (a write not completing, or queued work behind an unanswered response); null when not.</param>
/// <param name="Types">Per subscribed type, ordered by type URL.</param>
/// <param name="Credential">How the stream was admitted: node_token, shared_token or none.</param>
public sealed record DataplaneStreamStatus(
    long StreamId,
    Node Node,
    string Variant,
    string Peer,
    string ControlPlaneId,
    DateTimeOffset ConnectedSince,
    DateTimeOffset LastRequestAt,
    int QueueDepth,
    DateTimeOffset? BlockedSince,
    IReadOnlyList<ResourceTypeStatus> Types,
    string Credential = "none")
{
    public string NodeId => Node.Id;
}

/// <summary>One stream's state for one resource type.</summary>
/// <param name="TypeUrl">The resource type.</param>
/// <param name="Wildcard">Subscribed to every resource of the type.</param>
/// <param name="SubscribedNames">Names subscribed explicitly (besides a wildcard), ordered.</param>
/// <param name="ResourceCount">Resources in the last response (SotW) or held by the node as far as the server knows (delta).</param>
/// <param name="VersionSent">SotW version_info or delta system_version_info of the last response; empty before any.</param>
/// <param name="NonceSent">Nonce of the last response.</param>
/// <param name="SentAt">When it was sent.</param>
/// <param name="VersionAcked">Version of the last acknowledged response; empty before any ACK.</param>
/// <param name="AckedAt">When it was acknowledged.</param>
/// <param name="VersionRejected">Version of the last rejected response; empty when none since the last ACK (delta: of the latest NACK that still applies, one that rejected a version the cache still holds; empty when none does).</param>
/// <param name="RejectionError">The node's error_detail for that rejection.</param>
/// <param name="RejectedAt">When it was rejected.</param>
/// <param name="VersionCurrent">The version the node would hold if it had taken everything the cache holds for its subscription now (SYNCED when it equals <paramref name="VersionAcked"/>).</param>
/// <param name="AwaitingAck">A response was sent and not answered yet.</param>
/// <param name="QueueDepth">Resources of this type waiting to be sent.</param>
public sealed record ResourceTypeStatus(
    string TypeUrl,
    bool Wildcard,
    IReadOnlyList<string> SubscribedNames,
    int ResourceCount,
    string VersionSent,
    string NonceSent,
    DateTimeOffset? SentAt,
    string VersionAcked,
    DateTimeOffset? AckedAt,
    string VersionRejected,
    Google.Rpc.Status? RejectionError,
    DateTimeOffset? RejectedAt,
    string VersionCurrent,
    bool AwaitingAck,
    int QueueDepth);
