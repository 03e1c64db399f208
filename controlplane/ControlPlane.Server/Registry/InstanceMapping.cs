using ControlPlane.Api.V1;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Registry;

/// <summary>Storage records to API messages, and status names as the API spells them.</summary>
internal static class InstanceMapping
{
    public static string Name(this InstanceStatus status) => status switch
    {
        InstanceStatus.Healthy => "healthy",
        InstanceStatus.Draining => "draining",
        _ => "expired",
    };

    public static bool TryParseStatus(string value, out InstanceStatus status)
    {
        switch (value)
        {
            case "healthy": status = InstanceStatus.Healthy; return true;
            case "draining": status = InstanceStatus.Draining; return true;
            case "expired": status = InstanceStatus.Expired; return true;
            default: status = default; return false;
        }
    }

    public static Instance ToApi(this InstanceRecord record)
    {
        var spec = record.Spec;
        var instance = new Instance
        {
            InstanceId = spec.InstanceId,
            Name = spec.Name,
            Image = spec.Image,
            Host = spec.Host,
            Port = spec.Port,
            Region = spec.Region,
            TtlSeconds = spec.TtlSeconds,
            Status = record.Status.Name(),
            RegisteredAt = Timestamp.FromDateTimeOffset(record.RegisteredAt),
            LastHeartbeatAt = Timestamp.FromDateTimeOffset(record.LastHeartbeatAt),
            ExpiresAt = Timestamp.FromDateTimeOffset(record.ExpiresAt),
            // Every listing shows metadata as an object, empty when none was registered.
            Metadata = spec.Metadata ?? new Struct(),
        };
        return instance;
    }
}
