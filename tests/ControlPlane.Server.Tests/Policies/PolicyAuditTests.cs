using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using static ControlPlane.Server.Tests.Policies.PolicyTestBed;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>The audit trail: who changed what, when, why, in which request; newest first; bounded; consistent under concurrent writers.</summary>
public sealed class PolicyAuditTests
{
    private static Task<ListPolicyChangesResponse> ChangesAsync(PolicyTestBed bed, int limit = 0, string image = "img.video.svc") =>
        bed.Policies.ListChangesAsync(new ListPolicyChangesRequest { Image = image, Limit = limit }).DefaultTimeout();

    [Fact]
    public async Task EveryChange_IsRecorded_WithBeforeAfterActorReasonAndRequestId_NewestFirst()
    {
        await using var bed = await StartAsync();
        var start = bed.Clock.GetUtcNow();
        var first = await bed.SetAsync(new SetPolicyRequest { Image = "img.video.svc", Algorithm = "round_robin", Reason = "initial" }, new PolicyCaller("lb-policy-agent", "req-1"));
        bed.Clock.Advance(10);
        var second = await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2)]), new PolicyCaller("admin", "req-2"));
        bed.Clock.Advance(10);
        await bed.Policies.DeleteAsync(new DeletePolicyRequest { Image = "img.video.svc", Reason = "rollback" }, new PolicyCaller("incident-bot", "req-3")).DefaultTimeout();

        var changes = (await ChangesAsync(bed)).Changes;

        Assert.Equal(["delete", "set", "set"], changes.Select(c => c.Action));
        Assert.Equal(["incident-bot", "admin", "lb-policy-agent"], changes.Select(c => c.Actor));
        Assert.Equal(["req-3", "req-2", "req-1"], changes.Select(c => c.RequestId));
        Assert.Equal(["rollback", "", "initial"], changes.Select(c => c.Reason));
        Assert.Equal([start.AddSeconds(20), start.AddSeconds(10), start], changes.Select(c => c.ChangedAt.ToDateTimeOffset()));
        Assert.All(changes, c => Assert.Equal("img.video.svc", c.Image));

        Assert.Null(changes[2].Before);
        Assert.Equal(first.Policy, changes[2].After);
        Assert.Equal(first.Policy, changes[1].Before);
        Assert.Equal(second.Policy, changes[1].After);
        Assert.Equal(second.Policy, changes[0].Before);
        Assert.Null(changes[0].After);
    }

    [Fact]
    public async Task Limit_DefaultsTo100_AndTheTrailIsBoundedPerImage()
    {
        await using var bed = await StartAsync(new InMemoryPolicyStore(maxChangesPerImage: 150));
        for (var i = 1; i <= 200; i++)
        {
            await bed.SetAsync(Set("weighted_rr", weights: [("i1", i)]));
        }
        await bed.SetAsync(Set("least_conn", image: "img.other"));

        Assert.Equal(100, (await ChangesAsync(bed)).Changes.Count);
        var all = (await ChangesAsync(bed, limit: 1000)).Changes;
        Assert.Equal(150, all.Count);
        Assert.Equal(200, all[0].After.Weights["i1"]);  // the newest are kept
        Assert.Equal(51, all[^1].After.Weights["i1"]);
        Assert.Equal(3, (await ChangesAsync(bed, limit: 3)).Changes.Count);
        Assert.Single((await ChangesAsync(bed, image: "img.other")).Changes);
        Assert.Empty((await ChangesAsync(bed, image: "img.never")).Changes);
    }

    [Fact]
    public async Task ConcurrentWriters_LeaveAnUnbrokenHistory()
    {
        await using var bed = await StartAsync();
        var writers = Enumerable.Range(1, 50).Select(i => Task.Run(() => bed.SetAsync(Set("weighted_rr", weights: [("i1", i)]), new PolicyCaller($"agent-{i}", $"req-{i}"))));
        await Task.WhenAll(writers).DefaultTimeout();

        var changes = (await ChangesAsync(bed, limit: 1000)).Changes.Reverse().ToArray();
        Assert.Equal(50, changes.Length);
        Assert.Null(changes[0].Before);
        for (var i = 1; i < changes.Length; i++)
        {
            Assert.Equal(changes[i - 1].After, changes[i].Before);
        }
        Assert.Equal(changes[^1].After, (await bed.Store.GetAsync("img.video.svc"))!);
        Assert.Equal(50, bed.PolicySignals.Count);
    }
}
