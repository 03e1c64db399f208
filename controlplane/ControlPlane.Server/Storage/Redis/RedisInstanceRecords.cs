using System.Globalization;
using Google.Protobuf;
using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// An instance as the <c>inst:{id}</c> hash holds it: the spec's fields as text (metadata as its
/// protobuf bytes), the status by name, times as unix milliseconds. The field order here is the
/// scripts' FIELDS order (_registry.lua).
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
    public static string EndpointField(string host, int port) => host.ToUpperInvariant() + ":" + port.ToString(CultureInfo.InvariantCulture);

    public static long ToUnixMilliseconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMilliseconds(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>Parses a record the scripts returned; null for a nil reply (no such instance).</summary>
    public static InstanceRecord? Parse(RedisResult result)
    {
        if (result.IsNull)
        {
            return null;
        }
        var f = (RedisResult[])result!;
        var spec = new InstanceSpec(
            InstanceId: (string)f[0]!,
            Name: (string)f[1]!,
            Image: (string)f[2]!,
            Host: (string)f[3]!,
            Port: (int)f[4],
            Region: (string?)f[5] ?? "",
            MetadataBytes: f[6].IsNull ? ByteString.Empty : ByteString.CopyFrom((byte[])f[6]!),
            TtlSeconds: (int)f[7]);
        return new InstanceRecord(
            spec,
            ParseStatus(spec.InstanceId, (string?)f[8]),
            FromUnixMilliseconds((long)f[9]),
            FromUnixMilliseconds((long)f[10]),
            FromUnixMilliseconds((long)f[11]),
            f[12].IsNull ? null : FromUnixMilliseconds((long)f[12]));
    }

    /// <summary>A status as the hash holds it (<see cref="StatusName"/>).</summary>
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
