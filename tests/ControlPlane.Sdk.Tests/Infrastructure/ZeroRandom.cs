namespace ControlPlane.Sdk.Tests.Infrastructure;

/// <summary>Jitter that always picks the shortest delay (0), so a reconnect happens at once.</summary>
internal sealed class ZeroRandom : Random
{
    public override double NextDouble() => 0;
}
