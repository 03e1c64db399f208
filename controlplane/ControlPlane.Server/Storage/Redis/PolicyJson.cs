using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using Google.Protobuf;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Policies and audit records as the reference keeps them in Redis: JSON with proto field names
/// (<c>{"image", "algorithm", "weights", "sticky_key", "version", "updated_at", "updated_by"}</c>),
/// readable by agents and by <c>redis-cli</c>. Unknown fields are ignored on read, so a newer
/// writer's additions do not break an older reader.
/// </summary>
internal static class PolicyJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static string Format(IMessage message) => Formatter.Format(message);

    public static RoutingPolicy ParsePolicy(string json) => Parser.Parse<RoutingPolicy>(json);

    public static PolicyChange ParseChange(string json) => Parser.Parse<PolicyChange>(json);

    /// <summary>
    /// An audit record without its before/after and closing brace: the script appends the stored
    /// JSON as it finds it (<c>,"before":{...}</c>) and closes the object.
    /// </summary>
    public static string ChangeHead(string image, string action, PolicyAudit audit)
    {
        var json = Format(new PolicyChange
        {
            Image = image,
            Action = action,
            ChangedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(audit.At),
            Actor = audit.Actor,
            Reason = audit.Reason,
            RequestId = audit.RequestId,
        }).TrimEnd();
        // Image and action are never empty, so the object has members and the head ends with one.
        return json[..^1].TrimEnd();
    }
}
