namespace ControlPlane.Sdk;

/// <summary>
/// Collects the answers served from a replica's memory (<c>x-platform-last-contact</c>: that replica
/// could not reach its store, so the answer may be stale) for the calls made in the current async
/// flow, so a caller can show that to its user instead of presenting the answer as current. Begin
/// one around a unit of work (a command, a request being served); calls made while it is current,
/// in this flow and the tasks it starts, record into it; dispose it to restore the scope before.
/// </summary>
public sealed class StaleReadScope : IDisposable
{
    private static readonly AsyncLocal<StaleReadScope?> s_current = new();
    private readonly StaleReadScope? _previous;
    private readonly List<StaleRead> _reads = [];

    private StaleReadScope(StaleReadScope? previous) => _previous = previous;

    /// <summary>Starts collecting for the current async flow.</summary>
    public static StaleReadScope Begin()
    {
        var scope = new StaleReadScope(s_current.Value);
        s_current.Value = scope;
        return scope;
    }

    /// <summary>Answers (and errors, such as NOT_FOUND) returned from a replica's memory, in order.</summary>
    public IReadOnlyList<StaleRead> Reads
    {
        get
        {
            lock (_reads)
            {
                return [.. _reads];
            }
        }
    }

    /// <summary>The largest time since a store last answered among <see cref="Reads"/>, in milliseconds; null when every answer was current.</summary>
    public long? LastContactMs
    {
        get
        {
            lock (_reads)
            {
                return _reads.Count == 0 ? null : _reads.Max(r => r.LastContactMs);
            }
        }
    }

    /// <summary>Stops collecting; the scope current before <see cref="Begin"/> is current again.</summary>
    public void Dispose()
    {
        if (s_current.Value == this)
        {
            s_current.Value = _previous;
        }
    }

    internal static void Record(StaleRead read)
    {
        for (var scope = s_current.Value; scope is not null; scope = scope._previous)
        {
            lock (scope._reads)
            {
                scope._reads.Add(read);
            }
        }
    }
}

/// <summary>One answer a replica served from memory.</summary>
/// <param name="Method">The method's full name, e.g. <c>controlplane.v1.PolicyService.GetPolicy</c>.</param>
/// <param name="Address">The replica that answered.</param>
/// <param name="LastContactMs">Milliseconds since that replica's store last answered it.</param>
public sealed record StaleRead(string Method, Uri Address, long LastContactMs);
