using ControlPlane.Server.Policies;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>The policy store contract on the embedded store.</summary>
public sealed class InMemoryPolicyStoreTests : PolicyStoreContract
{
    protected override IPolicyStore CreateStore(int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage) => new InMemoryPolicyStore(maxChangesPerImage);
}
