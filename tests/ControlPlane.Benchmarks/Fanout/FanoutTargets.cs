namespace ControlPlane.Benchmarks.Fanout;

/// <summary>The sides of the fan-out benchmark: the control plane's discovery streams and etcd's watch, the baseline.</summary>
internal static class FanoutTargets
{
    /// <summary>
    /// The control plane's side: its own server in its own process with N nodes, each on a delta
    /// discovery stream subscribed to every endpoint set; a change is one registration in the watched
    /// image (<see cref="ControlPlaneDiscoveryTarget"/>).
    /// </summary>
    public static Func<FanoutSettings, IFanoutTarget>? ControlPlane => settings => new ControlPlaneDiscoveryTarget(settings);

    /// <summary>The baseline. Between the two, the ceiling: Kestrel doing its share of the control plane's work alone (<see cref="BareKestrelFanoutServer"/>).</summary>
    public static IFanoutTarget Etcd(FanoutSettings settings) => new EtcdWatchTarget(settings);

    /// <summary>
    /// The targets of one watcher count in report order, the baseline last, and the baseline's index;
    /// null when the control plane's side is asked for but not available.
    /// </summary>
    public static (Func<IFanoutTarget>[] Targets, int Baseline)? Create(FanoutSettings settings)
    {
        if (settings.EtcdOnly)
        {
            return ([() => Etcd(settings)], 0);
        }
        if (ControlPlane is not { } controlPlane)
        {
            return null;
        }
        return ([() => controlPlane(settings), () => new ControlPlaneDiscoveryTarget(settings, bareKestrel: true), () => Etcd(settings)], 2);
    }
}
