using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// An instance as <c>inst:{id}</c> holds it: JSON in the reference's shape (<c>instance_id name image
/// host port region ttl_seconds status registered_at last_heartbeat expires_at [expired_at] endpoint
/// metadata</c>), the status by name, times as unix milliseconds, metadata as its JSON object
/// (<see cref="MetadataJson"/>). The scripts write it (_registry.lua's encode()).
/// </summary>
internal static class RedisInstanceRecords
{
    public static string StatusName(InstanceStatus status) => status switch
    {
        InstanceStatus.Healthy => "healthy",
        InstanceStatus.Draining => "draining",
        _ => "expired",
    };

    /// <summary>The hash field keeping the host:port guard: host upper-cased as the embedded store compares it (OrdinalIgnoreCase).</summary>
    public static string EndpointField(string host, int port) => HostIdentity.Canonical(host) + ":" + port.ToString(CultureInfo.InvariantCulture);

    public static long ToUnixMilliseconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMilliseconds(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>A sorted-set score as Redis sends it, text ("1767225630000"): whole milliseconds here.</summary>
    public static long Score(RedisResult score) => (long)double.Parse((string)score!, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses a record the scripts returned, <c>{JSON, inst_expiry score or nil}</c>; null for a nil reply
    /// (no such instance). A live record's deadline is the score when there is one (renewals move only
    /// the score), and its last heartbeat that deadline less the TTL, unless the score is still the
    /// deadline the JSON holds (as _registry.lua's lease() reads it).
    /// </summary>
    public static InstanceRecord? Parse(RedisResult result)
    {
        if (result.IsNull)
        {
            return null;
        }
        var reply = (RedisResult[])result!;
        var record = FromJson((byte[])reply[0]!);
        if (reply[1].IsNull || !record.IsLive)
        {
            return record;
        }
        var deadline = Score(reply[1]);
        return deadline == ToUnixMilliseconds(record.ExpiresAt)
            ? record
            : record with { ExpiresAt = FromUnixMilliseconds(deadline), LastHeartbeatAt = FromUnixMilliseconds(deadline - (record.Spec.TtlSeconds * 1000L)) };
    }

    /// <summary>An <c>inst:{id}</c> value: the instance as JSON (fields in any order; unknown ones skipped).</summary>
    public static InstanceRecord FromJson(ReadOnlySpan<byte> json)
    {
        string? id = null, name = null, image = null, host = null, region = null, status = null;
        int? port = null, ttl = null;
        long? registered = null, heartbeat = null, expires = null, expired = null;
        var metadata = ByteString.Empty;
        var reader = new Utf8JsonReader(json);
        Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "is not a JSON object");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueSpan;
            if (property.SequenceEqual("metadata"u8))
            {
                Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "has metadata that is not an object");
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                metadata = MetadataJson.FromJson(json[start..(int)reader.BytesConsumed]);
                continue;
            }
            Expect(reader.Read(), "is truncated");
            if (property.SequenceEqual("instance_id"u8)) id = reader.GetString();
            else if (property.SequenceEqual("name"u8)) name = reader.GetString();
            else if (property.SequenceEqual("image"u8)) image = reader.GetString();
            else if (property.SequenceEqual("host"u8)) host = reader.GetString();
            else if (property.SequenceEqual("region"u8)) region = reader.GetString();
            else if (property.SequenceEqual("status"u8)) status = reader.GetString();
            else if (property.SequenceEqual("port"u8)) port = reader.GetInt32();
            else if (property.SequenceEqual("ttl_seconds"u8)) ttl = reader.GetInt32();
            else if (property.SequenceEqual("registered_at"u8)) registered = reader.GetInt64();
            else if (property.SequenceEqual("last_heartbeat"u8)) heartbeat = reader.GetInt64();
            else if (property.SequenceEqual("expires_at"u8)) expires = reader.GetInt64();
            else if (property.SequenceEqual("expired_at"u8)) expired = reader.GetInt64();
            else reader.Skip();
        }
        Expect(id is not null && name is not null && image is not null && host is not null && port is not null && ttl is not null
            && status is not null && registered is not null && heartbeat is not null && expires is not null, "lacks a field");
        var spec = new InstanceSpec(id!, name!, image!, host!, port!.Value, region ?? "", metadata, ttl!.Value);
        return new InstanceRecord(
            spec,
            ParseStatus(id!, status),
            FromUnixMilliseconds(registered!.Value),
            FromUnixMilliseconds(heartbeat!.Value),
            FromUnixMilliseconds(expires!.Value),
            expired is null ? null : FromUnixMilliseconds(expired.Value));

        void Expect(bool condition, string problem)
        {
            if (!condition)
            {
                throw new InvalidDataException($"An instance record in Redis {problem}.");
            }
        }
    }

    /// <summary>A status as the record holds it (<see cref="StatusName"/>).</summary>
    public static InstanceStatus ParseStatus(string instanceId, string? status) => status switch
    {
        "healthy" => InstanceStatus.Healthy,
        "draining" => InstanceStatus.Draining,
        "expired" => InstanceStatus.Expired,
        var other => throw new InvalidDataException($"Instance '{instanceId}' has unknown status '{other}' in Redis."),
    };

    /// <summary>Records of a reply that is an array of records, skipping nils.</summary>
    public static List<InstanceRecord> ParseMany(RedisResult result)
    {
        var items = (RedisResult[])result!;
        var records = new List<InstanceRecord>(items.Length);
        foreach (var item in items)
        {
            if (Parse(item) is { } record)
            {
                records.Add(record);
            }
        }
        return records;
    }
}
