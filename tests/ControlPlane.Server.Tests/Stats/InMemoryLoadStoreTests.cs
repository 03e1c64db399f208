using ControlPlane.Server.Stats;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>The load store contract on the embedded store.</summary>
public sealed class InMemoryLoadStoreTests : LoadStoreContract
{
    protected override ILoadStore CreateStore(StatsOptions options, TimeProvider clock) => new InMemoryLoadStore(options, clock);
}
