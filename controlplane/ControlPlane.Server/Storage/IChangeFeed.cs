namespace ControlPlane.Server.Storage;

/// <summary>
/// The store's record of changes, for replicas sharing it: each change to what nodes are sent has
/// a revision (monotonic within an epoch), is announced as it happens, and stays in a bounded log
/// so that a replica that missed announcements can catch up. Implemented by the Redis store
/// (revision counter, change log, pub/sub); the embedded store has one replica and needs none.
/// </summary>
public interface IChangeFeed
{
    /// <summary>
    /// Delivers announcements to <paramref name="onChange"/> (in order, on one thread at a time) and
    /// calls <paramref name="onReconnected"/> whenever the feed's connection came back (announcements
    /// made meanwhile are lost). Disposing the result stops both.
    /// </summary>
    IDisposable Subscribe(Action<StoreChange> onChange, Action onReconnected);

    /// <summary>The store's state of the log and at most <paramref name="limit"/> changes after <paramref name="afterRevision"/>, oldest first.</summary>
    ValueTask<ChangeLogRead> ReadSinceAsync(long afterRevision, int limit, CancellationToken cancellationToken = default);

    /// <summary>The store's epoch and the revision of its last change, as they are now; null before its first change.</summary>
    ValueTask<Resources.StorePosition?> ReadPositionAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// One change: resource <paramref name="Name"/> of <paramref name="Kind"/> (<see cref="StoreChange.Endpoints"/>,
/// <see cref="StoreChange.Policy"/>, <see cref="StoreChange.Leases"/>) may have changed at <paramref name="Revision"/>.
/// <paramref name="InstanceIds"/>, for an endpoint set, names the instances whose change it records (null:
/// not named, any of the image's instances may have changed).
/// </summary>
public readonly record struct StoreChange(long Revision, string Kind, string Name, IReadOnlyList<string>? InstanceIds = null)
{
    /// <summary>An image's endpoint set (an instance registered, drained, expired, removed).</summary>
    public const string Endpoints = "endpoints";

    /// <summary>An image's routing policy.</summary>
    public const string Policy = "policy";

    /// <summary>Leases were extended after an outage: nothing nodes are sent.</summary>
    public const string Leases = "leases";

    /// <summary>
    /// Parses "&lt;revision&gt; &lt;kind&gt; &lt;name&gt;", where an endpoints entry may list instance ids after
    /// the image ("&lt;revision&gt; endpoints &lt;image&gt; &lt;id&gt; &lt;id&gt;...": neither holds spaces); the name
    /// of another kind is the rest of the line and may hold spaces. False when malformed.
    /// </summary>
    public static bool TryParse(string? text, out StoreChange change)
    {
        change = default;
        if (text is null)
        {
            return false;
        }
        var first = text.IndexOf(' ', StringComparison.Ordinal);
        var second = first < 0 ? -1 : text.IndexOf(' ', first + 1);
        if (second < 0 || !long.TryParse(text.AsSpan(0, first), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var revision))
        {
            return false;
        }
        var kind = text[(first + 1)..second];
        var third = kind == Endpoints ? text.IndexOf(' ', second + 1) : -1;
        if (third < 0)
        {
            change = new StoreChange(revision, kind, text[(second + 1)..]);
            return true;
        }
        var ids = text[(third + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        change = new StoreChange(revision, kind, text[(second + 1)..third], ids.Length == 0 ? null : ids);
        return true;
    }
}

/// <param name="Epoch">Names the revision sequence; a store that started afresh has another one.</param>
/// <param name="ServerId">Names the store's server process; another one after a restart (which may have lost recent revisions).</param>
/// <param name="Current">The revision of the last change (0: none yet).</param>
/// <param name="Oldest">The oldest revision still in the log; null when it is empty.</param>
/// <param name="Changes">Changes after the revision asked for, oldest first.</param>
public sealed record ChangeLogRead(string Epoch, string ServerId, long Current, long? Oldest, IReadOnlyList<StoreChange> Changes);
