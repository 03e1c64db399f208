namespace ControlPlane.Server.Tests.Stats;

/// <summary>The exactly-once rules on the embedded load store.</summary>
public sealed class ExactlyOnceTests : ExactlyOnceContract
{
    private protected override Task<StatsHost> StartHostAsync(params string[] args) => StatsHost.StartAsync(null, args);
}
