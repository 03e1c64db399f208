using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// The reports a starting node holds: those of its state file, under their epoch, when it has one;
/// otherwise a new epoch, saved at once so that its first report is never sent under an epoch the
/// disk does not know. A damaged file is set aside for a human, never silently overwritten.
/// </summary>
internal static class PendingReportsLoader
{
    public static PendingReports Open(ReportStateStore? store, int maxPending, ILogger logger)
    {
        void PersistFailed(Exception ex) => ReportingLog.PersistFailed(logger, store!.Path, ex);
        if (store is null)
        {
            return new PendingReports(PendingReports.NewEpoch(), 0, [], maxPending, null, PersistFailed);
        }
        try
        {
            if (store.Load() is { } saved)
            {
                ReportingLog.Resumed(logger, saved.Epoch, saved.LastSequence, saved.Pending.Count, store.Path);
                return new PendingReports(saved.Epoch, saved.LastSequence, saved.Pending, maxPending, store, PersistFailed);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or Google.Protobuf.InvalidProtocolBufferException)
        {
            var fresh = new PendingReports(PendingReports.NewEpoch(), 0, [], maxPending, store, PersistFailed);
            ReportingLog.StateDamaged(logger, store.Path, ex.Message, TrySetAside(store), fresh.Epoch);
            fresh.Persist();
            return fresh;
        }
        var created = new PendingReports(PendingReports.NewEpoch(), 0, [], maxPending, store, PersistFailed);
        created.Persist();
        return created;
    }

    private static string TrySetAside(ReportStateStore store)
    {
        try
        {
            return store.SetAside();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "nowhere (" + ex.Message + ")";
        }
    }
}
