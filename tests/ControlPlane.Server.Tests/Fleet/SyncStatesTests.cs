using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Fleet;

namespace ControlPlane.Server.Tests.Fleet;

/// <summary>A resource type's sync state from what the node was sent, acknowledged and rejected.</summary>
public sealed class SyncStatesTests
{
    [Theory]
    [InlineData("v1", "v1", "v1", false, "", SyncState.Synced)]
    [InlineData("v1", "v1", "v1", true, "", SyncState.Synced)]  // the same content again, unanswered: nothing changes for the node
    [InlineData("v2", "v1", "v2", true, "", SyncState.Stale)]   // a change on its way
    [InlineData("v2", "v1", "v1", false, "", SyncState.Stale)]  // a change not sent yet
    [InlineData("v1", "v2", "v1", true, "", SyncState.Stale)]   // other content unanswered (a subscription narrowed, then widened back): the node takes it on receipt
    [InlineData("v2", "v1", "v2", false, "v2", SyncState.Nacked)]
    public void TheStateOfAType_WeighsWhatIsUnanswered(string current, string sent, string acked, bool awaitingAck, string rejected, SyncState expected)
    {
        var type = new ResourceTypeStatus(
            "type", Wildcard: true, [], ResourceCount: 1, VersionSent: sent, NonceSent: "n", SentAt: null, VersionAcked: acked, AckedAt: null,
            VersionRejected: rejected, RejectionError: null, RejectedAt: null, VersionCurrent: current, AwaitingAck: awaitingAck, QueueDepth: 0);

        Assert.Equal(expected, SyncStates.Of(type));
    }
}
