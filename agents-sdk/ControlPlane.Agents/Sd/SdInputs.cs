using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Sd;

/// <summary>The reference's sd-agent input (§5.1): <c>{"instances": [...]}</c>.</summary>
internal sealed record RegisterInput
{
    [Description("The instances to register (the reference's sd-agent input).")]
    [Length(1, 1000)]
    public required List<InstanceSpec> Instances { get; init; }

    [Description("Keep the instances alive with heartbeats every ttl_seconds/2 while this process runs (default true). False registers once; the leases then run out.")]
    public bool Heartbeat { get; init; } = true;
}

/// <summary>One instance, as the control plane's RegisterRequest.</summary>
internal sealed record InstanceSpec
{
    [Description("Logical service name, e.g. video-svc.")]
    [Length(1, 128)]
    public required string Name { get; init; }

    [Description("The image the instance runs, e.g. img.video.svc.")]
    [Length(1, 255)]
    public required string Image { get; init; }

    [Description("Unique instance id, e.g. i1.")]
    [Length(1, 128)]
    public required string InstanceId { get; init; }

    [Description("Host name or IP address to forward to.")]
    [Length(1, 253)]
    public required string Host { get; init; }

    [Description("TCP port.")]
    [Range(1, 65535)]
    public required int Port { get; init; }

    [Description("Region label, e.g. eu-central.")]
    public string? Region { get; init; }

    [Description("Free-form labels, e.g. {\"weight\": 2}.")]
    public JsonObject? Metadata { get; init; }

    [Description("Lease length in seconds (default 30); heartbeats every ttl_seconds/2.")]
    [Range(1, 3600)]
    public int TtlSeconds { get; init; } = 30;
}

internal sealed record InstanceIdsInput
{
    [Description("Instance ids.")]
    [Length(1, 1000)]
    public required List<string> InstanceIds { get; init; }
}

internal sealed record HeartbeatInput
{
    [Description("Instance ids to renew once.")]
    [Length(1, 1000)]
    public required List<string> InstanceIds { get; init; }

    [Description("New lease length in seconds; absent keeps each instance's TTL.")]
    [Range(1, 3600)]
    public int? TtlSeconds { get; init; }
}

internal sealed record ListInput
{
    [Description("Only instances of this service name.")]
    public string? Name { get; init; }

    [Description("Only instances of this image.")]
    public string? Image { get; init; }

    [Description("Only instances in this status.")]
    [AllowedValues("healthy", "draining", "expired")]
    public string? Status { get; init; }
}
