namespace ControlPlane.Server.Fleet;

/// <summary>The "ControlPlane:Fleet" configuration section.</summary>
public sealed class FleetOptions
{
    public const string Section = "ControlPlane:Fleet";

    /// <summary>How long a node stays listed (DISCONNECTED) after its last stream closed.</summary>
    public TimeSpan DisconnectedRetention { get; set; } = TimeSpan.FromMinutes(10);
}
