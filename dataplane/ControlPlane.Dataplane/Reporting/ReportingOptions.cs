namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// The "Dataplane:Reporting" section: how the node reports its load to the control plane. Reports
/// go to the control planes of <c>Dataplane:ControlPlanes</c>, as node <c>Dataplane:NodeId</c>,
/// kept in <c>Dataplane:StateDirectory</c> until acknowledged.
/// </summary>
public sealed class ReportingOptions
{
    public const string Section = "Dataplane:Reporting";

    /// <summary>Whether the node reports at all (it always counts). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Length of one report's interval, until a control plane asks for another. Default 10 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// On shutdown, how long the node waits for the control plane to acknowledge what it still
    /// holds (the last interval included) before it leaves the rest on disk for the next start. Default 5 s.
    /// </summary>
    public TimeSpan FlushTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Unacknowledged reports kept apart (1 h at the default interval). Beyond it, new intervals are
    /// merged into the newest report not yet sent: counts stay exact, only their timing coarsens,
    /// and memory and the state file stay bounded through a long control-plane outage.
    /// </summary>
    public int MaxPendingReports { get; set; } = 360;

    /// <summary>Throws when a setting cannot work.</summary>
    public void Validate()
    {
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromMinutes(5) || FlushTimeout < TimeSpan.Zero || MaxPendingReports < 1)
        {
            throw new InvalidOperationException($"Invalid {Section} settings: Interval must be 1 s to 5 min, FlushTimeout not negative, MaxPendingReports positive");
        }
    }
}
