namespace ControlPlane.Server.Fleet;

/// <summary>The "ControlPlane:Fleet" configuration section.</summary>
public sealed class FleetOptions
{
    public const string Section = "ControlPlane:Fleet";

    /// <summary>How long a node stays listed (DISCONNECTED) after its last stream closed.</summary>
    public TimeSpan DisconnectedRetention { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>With replicas sharing Redis: how often a replica writes the status of its nodes that changed (at most once per node per interval).</summary>
    public TimeSpan PublishInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>With replicas sharing Redis: how often a replica rewrites the status of every node it serves, changed or not.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connected node whose replica has not refreshed it for this long is listed DISCONNECTED (the replica is gone).</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(30);
}
