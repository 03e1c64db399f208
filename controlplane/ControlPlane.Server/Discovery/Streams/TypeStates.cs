namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// A stream's per-type states in ordinal order of type URL. A server has a handful of resource types,
/// so a short list scanned in order beats a sorted tree: no allocation to look up or enumerate, which
/// every push and every ACK of every stream does.
/// </summary>
internal sealed class TypeStates<TState>
    where TState : TypeState
{
    private readonly List<TState> _states = new(2);

    /// <summary>In ordinal order of type URL; enumerating it allocates nothing.</summary>
    public List<TState> Values => _states;

    public bool TryGetValue(string typeUrl, out TState state)
    {
        foreach (var candidate in _states)
        {
            if (string.Equals(candidate.TypeUrl, typeUrl, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }
        state = null!;
        return false;
    }

    public void Add(TState state)
    {
        var index = 0;
        while (index < _states.Count && string.CompareOrdinal(_states[index].TypeUrl, state.TypeUrl) < 0)
        {
            index++;
        }
        if (index < _states.Count && _states[index].TypeUrl == state.TypeUrl)
        {
            throw new ArgumentException($"A state for '{state.TypeUrl}' is already present.", nameof(state));
        }
        _states.Insert(index, state);
    }
}
