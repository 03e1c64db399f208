namespace ControlPlane.Server.Storage;

public enum RegisterResult
{
    /// <summary>A new instance (or one whose record had already been removed).</summary>
    Created,

    /// <summary>The same instance registered again: its record is refreshed and its lease renewed.</summary>
    Updated,

    /// <summary>The instance id is held by an instance of another name or image.</summary>
    DuplicateInstanceId,

    /// <summary>Another live instance holds the same host:port.</summary>
    PortConflict,
}

/// <summary>The outcome of a registration; <see cref="Holder"/> is the instance in the way when refused.</summary>
public sealed record RegisterOutcome(RegisterResult Result, InstanceRecord? Instance, InstanceRecord? Holder);

public enum RenewResult
{
    Renewed,

    /// <summary>Unknown or expired: the agent must register again.</summary>
    NotFound,
}

/// <summary>The outcome of one heartbeat.</summary>
public readonly record struct RenewOutcome(RenewResult Result, InstanceStatus Status, int TtlSeconds, DateTimeOffset ExpiresAt);

/// <summary>Filters of a listing; null matches everything.</summary>
public sealed record InstanceQuery(string? Name = null, string? Image = null, InstanceStatus? Status = null, string? AfterInstanceId = null, int Limit = int.MaxValue);

/// <summary>Live instances past their deadline, when the next deadline or removal falls, and how many expired recently (store-wide).</summary>
public sealed record ExpiryScan(IReadOnlyList<string> Overdue, int LiveCount, DateTimeOffset? NextDeadline, int RecentlyExpired = 0);

/// <summary>Instance counts by status.</summary>
public readonly record struct RegistryCounts(int Healthy, int Draining, int Expired)
{
    public int Live => Healthy + Draining;
}
