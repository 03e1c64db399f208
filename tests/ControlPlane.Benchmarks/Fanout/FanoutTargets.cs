namespace ControlPlane.Benchmarks.Fanout;

/// <summary>The sides of the fan-out benchmark: the control plane's discovery streams and etcd's watch, the baseline.</summary>
internal static class FanoutTargets
{
    /// <summary>
    /// The control plane's side: its own server with N nodes on the aggregated discovery stream, each
    /// subscribed to one image's endpoint set; a change is one registration in that image. It plugs in
    /// here as an <see cref="IFanoutTarget"/> once ControlPlane.Server serves the discovery streams
    /// (issue 4); until then it is null and the benchmark runs only with --etcd-only.
    /// </summary>
    public static Func<FanoutSettings, IFanoutTarget>? ControlPlane => null;

    /// <summary>The baseline.</summary>
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
        return ([() => controlPlane(settings), () => Etcd(settings)], 1);
    }
}
