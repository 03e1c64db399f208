namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A random source whose every draw is <paramref name="value"/> (in [0, 1)): 0 makes every reconnect
/// delay 0 and starts at the first control-plane address; near 1 takes each delay's bound and the last address.
/// </summary>
internal sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;
}
