using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>The policy store contract on the embedded store.</summary>
public sealed class InMemoryPolicyStoreTests : PolicyStoreContract
{
    protected override IPolicyStore CreateStore(int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage) => new InMemoryPolicyStore(maxChangesPerImage);

    [Fact]
    public async Task AChangeThatReadTheClockBeforeAnEarlierAppliedOne_IsNotRecordedBeforeIt()
    {
        // Two writers read the clock, and the later reading took the lock first.
        var store = CreateStore();
        var first = new RoutingPolicy { Image = "img.a", Algorithm = "round_robin", UpdatedBy = "a", UpdatedAt = Timestamp.FromDateTimeOffset(T0.AddMilliseconds(5)) };
        first.Version = PolicyRegistry.VersionOf(first);
        var second = new RoutingPolicy { Image = "img.a", Algorithm = "least_conn", UpdatedBy = "b", UpdatedAt = Timestamp.FromDateTimeOffset(T0.AddMilliseconds(1)) };
        second.Version = PolicyRegistry.VersionOf(second);
        await store.SetAsync(first, new PolicyAudit(T0.AddMilliseconds(5), "a", "", "r1")).DefaultTimeout();

        var write = await store.SetAsync(second, new PolicyAudit(T0.AddMilliseconds(1), "b", "", "r2")).DefaultTimeout();
        await store.DeleteAsync("img.a", new PolicyAudit(T0.AddMilliseconds(3), "c", "", "r3")).DefaultTimeout();

        Assert.Equal(T0.AddMilliseconds(5), write.Current!.UpdatedAt.ToDateTimeOffset());
        var trail = await store.ListChangesAsync("img.a", 10).DefaultTimeout(); // newest first
        Assert.Equal(["delete", "set", "set"], trail.Select(c => c.Action));
        Assert.All(trail, c => Assert.Equal(T0.AddMilliseconds(5), c.ChangedAt.ToDateTimeOffset()));
    }
}
