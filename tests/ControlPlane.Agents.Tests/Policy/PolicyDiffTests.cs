using ControlPlane.Agents.Policy;

namespace ControlPlane.Agents.Tests.Policy;

/// <summary>The reference's approval rules (§5.2): a different algorithm class, or any weight changed by more than 50%.</summary>
public sealed class PolicyDiffTests
{
    private static readonly Dictionary<string, int> NoRegistered = [];

    private static PolicyState Wrr(params (string Id, int Weight)[] weights) =>
        new("weighted_rr", weights.ToDictionary(w => w.Id, w => w.Weight), null, true);

    [Fact]
    public void WeightChanges_UpTo50Percent_NeedNoApproval_AboveDo()
    {
        Assert.Empty(PolicyDiff.Compute(Wrr(("i1", 2), ("i2", 2)), Wrr(("i1", 3), ("i2", 1)), NoRegistered).ApprovalReasons);
        var doubled = PolicyDiff.Compute(Wrr(("i1", 2), ("i2", 2)), Wrr(("i1", 4), ("i2", 2)), NoRegistered);
        Assert.Equal(["the weight of i1 changes by more than 50%: 2 -> 4 (+100%)"], doubled.ApprovalReasons);
        Assert.Equal(["weight i1: 2 -> 4 (+100%)"], doubled.Lines);
        // Down by more than half counts too, and an instance the new weights leave out falls back to 1.
        Assert.Single(PolicyDiff.Compute(Wrr(("i1", 10)), Wrr(("i2", 1)), NoRegistered).ApprovalReasons, r => r.Contains("i1 changes by more than 50%: 10 -> 1", StringComparison.Ordinal));
    }

    [Fact]
    public void AnotherAlgorithmClass_NeedsApproval_AWeightingOfTheSameClassOnlyForItsWeights()
    {
        var leastConn = new PolicyState("least_conn", new Dictionary<string, int>(), null, true);
        Assert.Contains(PolicyDiff.Compute(leastConn, Wrr(("i1", 1)), NoRegistered).ApprovalReasons, r => r.Contains("least_conn (load-aware) -> weighted_rr (rotation)", StringComparison.Ordinal));
        Assert.Empty(PolicyDiff.Compute(PolicyState.None, Wrr(("i1", 1), ("i2", 1)), NoRegistered).ApprovalReasons);
        Assert.Single(PolicyDiff.Compute(PolicyState.None, Wrr(("i1", 2), ("i2", 1)), NoRegistered).ApprovalReasons);
        var hash = new PolicyState("consistent_hash", new Dictionary<string, int>(), "customer_id", true);
        Assert.Contains(PolicyDiff.Compute(PolicyState.None, hash, NoRegistered).ApprovalReasons, r => r.Contains("(affinity)", StringComparison.Ordinal));
    }

    [Fact]
    public void WeightsNotInThePolicy_AreTheRegisteredOnes()
    {
        // i1 registered with metadata weight 4: a policy weight of 4 changes nothing, 1 is -75%.
        var registered = new Dictionary<string, int> { ["i1"] = 4 };
        Assert.Empty(PolicyDiff.Compute(Wrr(), Wrr(("i1", 4)), registered).Lines);
        Assert.Single(PolicyDiff.Compute(Wrr(), Wrr(("i1", 1)), registered).ApprovalReasons);
    }

    [Fact]
    public void TheRestoreCommand_PutsThePolicyBackExactly()
    {
        var policy = new ControlPlane.Api.V1.RoutingPolicy { Image = "img.video.svc", Algorithm = "weighted_rr" };
        policy.Weights.Add("i2", 1);
        policy.Weights.Add("i1", 2);
        Assert.Equal("cpctl lb-policy set img.video.svc --algorithm weighted_rr --weight i1=2 --weight i2=1 --reason 'restore after incident flip' --approve", RestoreCommand.For("img.video.svc", policy, "restore after incident flip"));
        Assert.Equal("cpctl lb-policy set img.video.svc --algorithm weighted_rr --weight i1=2 --weight i2=1 --reason 'restore after delete' --approve", RestoreCommand.For("img.video.svc", policy, "restore after delete"));
        Assert.Equal("cpctl lb-policy delete img.x --approve", RestoreCommand.For("img.x", null, "restore after incident flip"));
        Assert.Equal("'it'\\''s'", RestoreCommand.Quote("it's"));
    }
}
