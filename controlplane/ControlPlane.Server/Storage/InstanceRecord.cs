using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Storage;

/// <summary>
/// What a registration says about an instance: identity, address, placement, metadata, lease length.
/// Metadata is kept as its protobuf encoding: a parsed Struct costs about 500 bytes per instance for
/// a single entry and is read only when an instance is listed or pushed.
/// </summary>
public sealed record InstanceSpec(
    string InstanceId,
    string Name,
    string Image,
    string Host,
    int Port,
    string Region,
    ByteString MetadataBytes,
    int TtlSeconds)
{
    /// <summary>The metadata (a fresh copy on every read), or null when none was registered.</summary>
    public Struct? Metadata => MetadataBytes.IsEmpty ? null : Struct.Parser.ParseFrom(MetadataBytes);

    public static ByteString Encode(Struct? metadata) => metadata is null || metadata.Fields.Count == 0 ? ByteString.Empty : metadata.ToByteString();
}

/// <summary>Lifecycle of a registered instance, as listings show it.</summary>
public enum InstanceStatus
{
    /// <summary>Heartbeating within its TTL; receives traffic.</summary>
    Healthy,

    /// <summary>Live but taken out of rotation by an operator; keeps heartbeating.</summary>
    Draining,

    /// <summary>Missed its deadline; listed until the retention period ends, then removed.</summary>
    Expired,
}

/// <summary>An instance as the store holds it at one moment (an immutable snapshot).</summary>
public sealed record InstanceRecord(
    InstanceSpec Spec,
    InstanceStatus Status,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastHeartbeatAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? ExpiredAt)
{
    public string InstanceId => Spec.InstanceId;

    /// <summary>Healthy or draining: holds its host:port and counts as live.</summary>
    public bool IsLive => Status != InstanceStatus.Expired;
}
