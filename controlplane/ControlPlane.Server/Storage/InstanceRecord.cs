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

    /// <summary>
    /// The metadata's protobuf bytes, its keys in ordinal order at every level: equal metadata sent with
    /// its keys in another order encodes to the same bytes, so it is the same content (no new resource
    /// version, no push) and reads back the same everywhere.
    /// </summary>
    public static ByteString Encode(Struct? metadata) => metadata is null || metadata.Fields.Count == 0 ? ByteString.Empty : Canonical(metadata).ToByteString();

    private static Struct Canonical(Struct metadata)
    {
        if (IsCanonical(metadata))
        {
            return metadata;
        }
        var sorted = new Struct();
        foreach (var (key, value) in metadata.Fields.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            sorted.Fields.Add(key, Canonical(value));
        }
        return sorted;
    }

    private static Value Canonical(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.StructValue => Value.ForStruct(Canonical(value.StructValue)),
        Value.KindOneofCase.ListValue => Value.ForList([.. value.ListValue.Values.Select(Canonical)]),
        _ => value,
    };

    /// <summary>Already in order all the way down (the usual case: one level, sorted or a single key): nothing to copy.</summary>
    private static bool IsCanonical(Struct metadata)
    {
        string? previous = null;
        foreach (var (key, value) in metadata.Fields)
        {
            if ((previous is not null && string.CompareOrdinal(previous, key) >= 0) || !IsCanonical(value))
            {
                return false;
            }
            previous = key;
        }
        return true;
    }

    private static bool IsCanonical(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.StructValue => IsCanonical(value.StructValue),
        Value.KindOneofCase.ListValue => value.ListValue.Values.All(IsCanonical),
        _ => true,
    };
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
