using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Status;

namespace ControlPlane.Server.Fleet;

/// <summary>How far a node is in sync, per resource type and overall (types.proto, SyncState).</summary>
internal static class SyncStates
{
    /// <summary>
    /// NACKED while the last response was rejected; SYNCED when the node acknowledged what the cache holds
    /// for it and holds nothing else unanswered (a response of other content on its way, which it takes
    /// on receipt, would leave it holding that); else STALE.
    /// </summary>
    public static SyncState Of(ResourceTypeStatus type) =>
        type.VersionRejected.Length > 0 ? SyncState.Nacked
        : type.VersionAcked == type.VersionCurrent && !(type.AwaitingAck && type.VersionSent != type.VersionAcked) ? SyncState.Synced
        : SyncState.Stale;

    /// <summary>The worst of the types (NACKED > STALE > SYNCED); UNSPECIFIED before the node subscribed to anything.</summary>
    public static SyncState Overall(IEnumerable<SyncState> types)
    {
        var worst = SyncState.Unspecified;
        foreach (var state in types)
        {
            worst = Rank(state) > Rank(worst) ? state : worst;
        }
        return worst;
    }

    private static int Rank(SyncState state) => state switch
    {
        SyncState.Nacked => 3,
        SyncState.Stale => 2,
        SyncState.Synced => 1,
        _ => 0,
    };
}
