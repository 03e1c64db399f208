using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Api.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Agents.Runtime;

/// <summary>Control-plane messages in the reference's JSON shapes (snake_case, numbers as numbers, times as RFC 3339).</summary>
internal static class ProtoJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));

    public static JsonNode? Struct(Struct? value) => value is null ? null : JsonNode.Parse(Formatter.Format(value));

    public static string? Time(Timestamp? value) =>
        value is null ? null : value.ToDateTimeOffset().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFZ", CultureInfo.InvariantCulture);

    public static JsonObject Instance(Instance instance) => new()
    {
        ["instance_id"] = instance.InstanceId,
        ["name"] = instance.Name,
        ["image"] = instance.Image,
        ["host"] = instance.Host,
        ["port"] = instance.Port,
        ["region"] = instance.Region,
        ["metadata"] = Struct(instance.Metadata),
        ["ttl_seconds"] = instance.TtlSeconds,
        ["status"] = instance.Status,
        ["registered_at"] = Time(instance.RegisteredAt),
        ["last_heartbeat_at"] = Time(instance.LastHeartbeatAt),
        ["expires_at"] = Time(instance.ExpiresAt),
    };

    public static JsonObject? Policy(RoutingPolicy? policy)
    {
        if (policy is null)
        {
            return null;
        }
        var weights = new JsonObject();
        foreach (var (id, weight) in policy.Weights.OrderBy(w => w.Key, StringComparer.Ordinal))
        {
            weights[id] = weight;
        }
        return new JsonObject
        {
            ["image"] = policy.Image,
            ["algorithm"] = policy.Algorithm,
            ["weights"] = weights,
            ["sticky_key"] = policy.StickyKey.Length == 0 ? null : policy.StickyKey,
            ["version"] = policy.Version,
            ["updated_at"] = Time(policy.UpdatedAt),
            ["updated_by"] = policy.UpdatedBy,
        };
    }
}
