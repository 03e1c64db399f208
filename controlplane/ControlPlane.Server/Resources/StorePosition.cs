using System.Globalization;

namespace ControlPlane.Server.Resources;

/// <summary>
/// A place in a shared store's change sequence: its epoch (which sequence; a store started afresh
/// gets a new one) and a revision in it. Written "&lt;epoch&gt;:&lt;revision&gt;", as replicas stamp
/// discovery responses and nodes send them back (<c>store_position</c>). Positions of one epoch
/// compare by revision; of two epochs, by the epochs when both are Redis times ("seconds.microseconds",
/// a later store is newer), else not at all.
/// </summary>
public readonly record struct StorePosition(string Epoch, long Revision)
{
    /// <summary>The longest position a node may send.</summary>
    public const int MaxLength = 64;

    public override string ToString() => Epoch + ":" + Revision.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses "&lt;epoch&gt;:&lt;revision&gt;" (printable ASCII, at most <see cref="MaxLength"/> characters).</summary>
    public static bool TryParse(string? text, out StorePosition position)
    {
        position = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !long.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var revision))
        {
            return false;
        }
        foreach (var c in text.AsSpan(0, colon))
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }
        position = new StorePosition(text[..colon], revision);
        return true;
    }

    /// <summary>
    /// Whether this position is older than <paramref name="other"/>: a lower revision of the same
    /// epoch, or an earlier epoch. False when they cannot be compared (epochs that are not times).
    /// </summary>
    public bool IsBehind(StorePosition other)
    {
        if (string.Equals(Epoch, other.Epoch, StringComparison.Ordinal))
        {
            return Revision < other.Revision;
        }
        return EpochTime(Epoch) is { } mine && EpochTime(other.Epoch) is { } theirs && mine.CompareTo(theirs) < 0;
    }

    /// <summary>A Redis-time epoch ("seconds.microseconds", as change_epoch is written) as a pair; null otherwise.</summary>
    private static (long Seconds, long Microseconds)? EpochTime(string epoch)
    {
        var dot = epoch.IndexOf('.', StringComparison.Ordinal);
        return dot > 0
            && long.TryParse(epoch.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && long.TryParse(epoch.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
                ? (seconds, micros)
                : null;
    }
}

/// <summary>How far this replica has followed its store's changes (the change follower, on a shared store).</summary>
public interface IStorePositionSource
{
    /// <summary>
    /// The position of the last change relayed to <see cref="ResourceChanges"/>: every change up to it
    /// has been signalled. Null before the store was first read.
    /// </summary>
    StorePosition? Relayed { get; }

    /// <summary>The store's own position as last read or heard (its newest change); null before the first read.</summary>
    StorePosition? Latest { get; }

    /// <summary>Reads the store's changes now, instead of at the next periodic check.</summary>
    void RequestCatchUp();

    /// <summary>
    /// Reads the store's position now: what was read from the store before it holds no change after
    /// it, so it bounds what a response built from that read reflects. Null before the store's first change.
    /// </summary>
    ValueTask<StorePosition?> ReadStoreAsync(CancellationToken cancellationToken);
}
