using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>The registry store contract on the embedded store.</summary>
public sealed class InMemoryRegistryStoreTests : RegistryStoreContract
{
    protected override IRegistryStore CreateStore() => new InMemoryRegistryStore();
}
