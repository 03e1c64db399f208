using System.Collections.Concurrent;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>
/// The tool calls running now, by request id, so <c>notifications/cancelled</c> can reach them and a
/// second request reusing a running request's id is refused (MCP: ids are unique per session).
/// </summary>
internal sealed class InFlightCalls
{
    private readonly ConcurrentDictionary<string, InFlightCall> _calls = new(StringComparer.Ordinal);

    public int Count => _calls.Count;

    public InFlightCall? TryStart(string key, CancellationToken session)
    {
        var call = new InFlightCall(session);
        if (_calls.TryAdd(key, call))
        {
            return call;
        }
        call.Dispose();
        return null;
    }

    public void Finish(string key, InFlightCall call)
    {
        _calls.TryRemove(new KeyValuePair<string, InFlightCall>(key, call));
        call.Dispose();
    }

    /// <summary>Cancels the call with that id, when it is still running (a late or unknown id is ignored, as MCP allows).</summary>
    public bool CancelByClient(string key)
    {
        if (_calls.TryGetValue(key, out var call))
        {
            call.CancelByClient();
            return true;
        }
        return false;
    }

    public void CancelAll()
    {
        foreach (var call in _calls.Values)
        {
            call.Cancel();
        }
    }
}

internal sealed class InFlightCall : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private volatile bool _cancelledByClient;

    public InFlightCall(CancellationToken session) => _cts = CancellationTokenSource.CreateLinkedTokenSource(session);

    public CancellationToken Token => _cts.Token;

    /// <summary>The client cancelled it: MCP says not to answer it at all.</summary>
    public bool CancelledByClient => _cancelledByClient;

    public void CancelByClient()
    {
        _cancelledByClient = true;
        Cancel();
    }

    public void Cancel()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished meanwhile.
        }
    }

    public void Dispose() => _cts.Dispose();
}
