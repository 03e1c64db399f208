using ControlPlane.Server.Discovery.Status;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>Process-wide stream ids, shared by both variants (a static field of the generic stream class would be one per variant).</summary>
internal static class StreamIds
{
    private static long s_last;

    public static long Next() => Interlocked.Increment(ref s_last);
}

/// <summary>What the registry of open streams needs from a stream, whatever its variant.</summary>
internal interface IDiscoveryStream
{
    long Id { get; }

    string NodeId { get; }

    string Variant { get; }

    DateTimeOffset ConnectedSince { get; }

    int QueueDepth { get; }

    DataplaneStreamStatus Snapshot();

    /// <summary>Why the stream is stuck (its node has held back work for longer than <paramref name="timeout"/>), or null.</summary>
    string? CheckStuck(TimeSpan timeout);

    /// <summary>
    /// Ends the stream with UNAVAILABLE and <paramref name="why"/>; the error reason is <paramref name="reason"/>,
    /// or else stream_stuck (<paramref name="stuck"/>) or shutting_down.
    /// </summary>
    void Close(string why, bool stuck = true, string? reason = null);

    /// <summary>Resources the stream tracks in maps of its own rather than sharing the cache's snapshots (memory diagnostics).</summary>
    int PrivateResourceEntries { get; }
}
