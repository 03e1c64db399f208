using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Fleet;

/// <summary>
/// Every dataplane node this replica knows: those with an open discovery stream (their live
/// bookkeeping) and those whose last stream closed within <see cref="FleetOptions.DisconnectedRetention"/>
/// (their final state, DISCONNECTED). Built from <see cref="IDataplaneStreams"/>; holds nothing
/// else, so a node that left and aged out leaves no trace. With replicas sharing an
/// <see cref="IFleetStore"/> (Redis), <see cref="ListAsync"/> and <see cref="GetAsync"/> show the
/// whole fleet: what every replica published (<see cref="FleetPublisher"/>), this replica's own
/// nodes as they are now, and a node whose replica stopped publishing as DISCONNECTED.
/// <para>
/// While the shared store cannot be reached, this replica cannot know whether its configuration is
/// still current (changes made through other replicas reach it through the store), so none of its
/// nodes is shown SYNCED: what they acknowledged is shown STALE until the store answers again. The
/// fleet is then listed from memory: this replica's nodes, and the other replicas' as last read
/// (a connected one ageing into DISCONNECTED as usual), marked as served from memory (<see cref="MemoryReads"/>).
/// </para>
/// </summary>
public sealed class FleetView : IDataplaneDirectory, IDisposable
{
    private readonly IDataplaneStreams _streams;
    private readonly FleetOptions _options;
    private readonly TimeProvider _clock;
    private readonly IFleetStore? _store;
    private readonly object _lock = new();
    private readonly Dictionary<string, (DataplaneStreamStatus Final, DateTimeOffset At)> _disconnected = new(StringComparer.Ordinal);

    /// <summary>Nodes whose stream this replica last refused (after their last stream here): the refused stream's state, when, and why.</summary>
    private readonly Dictionary<string, (DataplaneStreamStatus Final, DateTimeOffset At, Google.Rpc.Status Why)> _refused = new(StringComparer.Ordinal);

    /// <summary>The shared entries as last read, for listings from memory while the store cannot be reached; null until the first read.</summary>
    private volatile IReadOnlyList<FleetEntry>? _lastShared;

    public FleetView(IDataplaneStreams streams, FleetOptions options, TimeProvider clock, IFleetStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _streams = streams;
        _options = options;
        _clock = clock;
        _store = store;
        _streams.Changed += OnChanged;
    }

    /// <summary>Every node of the fleet, ordered by node id: across replicas when they share a fleet store.</summary>
    public async ValueTask<IReadOnlyList<DataplaneStatus>> ListAsync(CancellationToken cancellationToken = default)
    {
        if (_store is null)
        {
            return List();
        }
        var merged = new SortedDictionary<string, FleetEntry>(StringComparer.Ordinal);
        foreach (var entry in await SharedAsync(cancellationToken))
        {
            merged[entry.NodeId] = entry;
        }
        foreach (var nodeId in LocalNodeIds())
        {
            if (LocalEntry(nodeId) is { } local && (!merged.TryGetValue(nodeId, out var shared) || shared.StreamOpenedAt <= local.StreamOpenedAt))
            {
                merged[nodeId] = local;
            }
        }
        var shown = new SortedDictionary<string, DataplaneStatus>(StringComparer.Ordinal);
        foreach (var (nodeId, entry) in merged)
        {
            shown[nodeId] = Shown(entry);
        }
        foreach (var refused in RefusedOnly())
        {
            shown.TryAdd(refused.Node.Id, refused);
        }
        return shown.Values.ToArray();
    }

    /// <summary>One node, across replicas when they share a fleet store; null when no replica knows it.</summary>
    public async ValueTask<DataplaneStatus?> GetAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        var local = LocalEntry(nodeId);
        if (_store is null)
        {
            return local?.Status ?? RefusedOnly(nodeId);
        }
        FleetEntry? shared;
        if (FromMemory())
        {
            shared = LastShared().FirstOrDefault(e => e.NodeId == nodeId);
        }
        else
        {
            try
            {
                shared = await _store.GetAsync(nodeId, cancellationToken);
            }
            catch (StoreUnavailableException) when (FromMemory())
            {
                shared = LastShared().FirstOrDefault(e => e.NodeId == nodeId);
            }
        }
        var newest = local is not null && (shared is null || shared.StreamOpenedAt <= local.StreamOpenedAt) ? local : shared;
        return newest is null ? RefusedOnly(nodeId) : Shown(newest);
    }

    /// <summary>Every shared entry: read from the store, or as last read while it cannot be reached.</summary>
    private async ValueTask<IReadOnlyList<FleetEntry>> SharedAsync(CancellationToken cancellationToken)
    {
        if (FromMemory())
        {
            return LastShared();
        }
        try
        {
            var entries = await _store!.ListAsync(cancellationToken);
            _lastShared = entries;
            return entries;
        }
        catch (StoreUnavailableException) when (FromMemory())
        {
            return LastShared();
        }
    }

    /// <summary>The entries as last read (none yet: the other replicas' nodes as far as this one knows, so this replica's own).</summary>
    private IReadOnlyList<FleetEntry> LastShared() => _lastShared ?? [];

    /// <summary>
    /// True (and the request marked as answered from memory) while the shared store is out of contact;
    /// a replica the store has never answered knows nothing of the fleet and refuses instead.
    /// </summary>
    private bool FromMemory()
    {
        if (_store?.OutOfContactFor is not { } since || !_store.HasAnswered)
        {
            return false;
        }
        MemoryReads.Mark(since);
        return true;
    }

    /// <summary>This replica's view of one node, as it publishes it; null when it does not know the node.</summary>
    public FleetEntry? LocalEntry(string nodeId)
    {
        var now = _clock.GetUtcNow();
        var open = _streams.ForNode(nodeId);
        if (open.Count > 0)
        {
            return new FleetEntry(Connected(open[^1], open.Count), open[^1].ConnectedSince, now);
        }
        lock (_lock)
        {
            Purge();
            return _disconnected.TryGetValue(nodeId, out var entry) ? new FleetEntry(DisconnectedLocked(entry.Final, entry.At), entry.Final.ConnectedSince, now) : null;
        }
    }

    /// <summary>Nodes this replica refused and knows no stream of (open or recently closed), as listed.</summary>
    private IReadOnlyList<DataplaneStatus> RefusedOnly()
    {
        lock (_lock)
        {
            Purge();
            return _refused.Keys.Select(RefusedOnlyLocked).OfType<DataplaneStatus>().ToArray();
        }
    }

    /// <summary>One node as <see cref="RefusedOnly()"/> lists it; null when it is not such a node.</summary>
    private DataplaneStatus? RefusedOnly(string nodeId)
    {
        lock (_lock)
        {
            Purge();
            return RefusedOnlyLocked(nodeId);
        }
    }

    private DataplaneStatus? RefusedOnlyLocked(string nodeId) =>
        _refused.TryGetValue(nodeId, out var r) && !_disconnected.ContainsKey(nodeId) && _streams.ForNode(nodeId).Count == 0
            ? Refused(r.Final, r.At, r.Why)
            : null;

    /// <summary>The nodes this replica knows (open streams and recently disconnected).</summary>
    public IReadOnlyCollection<string> LocalNodeIds()
    {
        var ids = new SortedSet<string>(_streams.List().Select(s => s.NodeId), StringComparer.Ordinal);
        lock (_lock)
        {
            Purge();
            ids.UnionWith(_disconnected.Keys);
        }
        return ids;
    }

    /// <summary>
    /// A shared entry as listed. A connected one its replica has not refreshed when it should have
    /// (every <see cref="FleetOptions.RefreshInterval"/>) is of a replica that cannot reach the store, or
    /// is gone: what the node acknowledged may no longer be what the store holds, so no type of it is
    /// SYNCED (STALE instead); once <see cref="FleetOptions.StaleAfter"/> has passed, it is DISCONNECTED.
    /// </summary>
    private DataplaneStatus Shown(FleetEntry entry)
    {
        var age = _clock.GetUtcNow() - entry.PublishedAt;
        if (entry.Status.State == SyncState.Disconnected || age <= _options.RefreshInterval + (2 * _options.PublishInterval) + RefreshSlack)
        {
            return entry.Status;
        }
        var status = entry.Status.Clone();
        if (age <= _options.StaleAfter)
        {
            foreach (var type in status.ResourceTypes.Where(t => t.State == SyncState.Synced))
            {
                type.State = SyncState.Stale;
            }
            status.State = SyncStates.Overall(status.ResourceTypes.Select(t => t.State));
            return status;
        }
        MarkDisconnected(status);
        status.DisconnectedAt = Timestamp.FromDateTimeOffset(entry.PublishedAt);
        return status;
    }

    /// <summary>What a refresh may take beyond its interval (a write to the store waiting on a slow command).</summary>
    private static readonly TimeSpan RefreshSlack = TimeSpan.FromSeconds(1);

    /// <summary>Every node this replica knows, ordered by node id.</summary>
    public IReadOnlyList<DataplaneStatus> List()
    {
        var result = new SortedDictionary<string, DataplaneStatus>(StringComparer.Ordinal);
        // Listed by node id, then stream id: a node's streams together, its newest last, as ForNode has them.
        foreach (var streams in _streams.List().GroupBy(s => s.NodeId, StringComparer.Ordinal))
        {
            // While a reconnect overlaps (or two nodes share an id), the newest stream speaks for the node.
            result[streams.Key] = Connected(streams.Last(), streams.Count());
        }
        lock (_lock)
        {
            Purge();
            foreach (var (nodeId, (final, at)) in _disconnected)
            {
                result.TryAdd(nodeId, DisconnectedLocked(final, at));
            }
            foreach (var (nodeId, (final, at, why)) in _refused)
            {
                result.TryAdd(nodeId, Refused(final, at, why));
            }
        }
        return result.Values.ToArray();
    }

    public DataplaneStatus? Get(string nodeId)
    {
        var open = _streams.ForNode(nodeId);
        if (open.Count > 0)
        {
            return Connected(open[^1], open.Count);
        }
        lock (_lock)
        {
            Purge();
            if (_disconnected.TryGetValue(nodeId, out var entry))
            {
                return DisconnectedLocked(entry.Final, entry.At);
            }
            return _refused.TryGetValue(nodeId, out var refused) ? Refused(refused.Final, refused.At, refused.Why) : null;
        }
    }

    async ValueTask<IReadOnlyList<TopologyDataplane>> IDataplaneDirectory.ListAsync(CancellationToken cancellationToken) =>
        (await ListAsync(cancellationToken)).Select(d => new TopologyDataplane
        {
            NodeId = d.Node.Id,
            Region = d.Node.Region,
            Zone = d.Node.Zone,
            State = d.State,
            ConnectedSince = d.ConnectedSince,
        }).ToArray();

    private void OnChanged(DataplaneStreamEvent change)
    {
        switch (change.Kind)
        {
            case DataplaneStreamEventKind.Opened:
                lock (_lock)
                {
                    _disconnected.Remove(change.NodeId);
                    _refused.Remove(change.NodeId);
                }
                break;
            case DataplaneStreamEventKind.Refused when change is { Final: { } refused, Refusal: { } why }:
                lock (_lock)
                {
                    _refused[change.NodeId] = (refused, _clock.GetUtcNow(), why);
                }
                break;
            case DataplaneStreamEventKind.Closed when change.Final is { } final:
                if (_streams.ForNode(change.NodeId).Count == 0)
                {
                    lock (_lock)
                    {
                        _disconnected[change.NodeId] = (final, _clock.GetUtcNow());
                        _refused.Remove(change.NodeId);
                    }
                }
                break;
        }
    }

    private void Purge()
    {
        var cutoff = _clock.GetUtcNow() - _options.DisconnectedRetention;
        foreach (var (nodeId, (_, at)) in _disconnected.Where(e => e.Value.At <= cutoff).ToArray())
        {
            _disconnected.Remove(nodeId);
        }
        foreach (var nodeId in _refused.Where(e => e.Value.At <= cutoff).Select(e => e.Key).ToArray())
        {
            _refused.Remove(nodeId);
        }
    }

    /// <summary>A node with <paramref name="openStreams"/> streams open here, as its newest, <paramref name="stream"/>, has it.</summary>
    private DataplaneStatus Connected(DataplaneStreamStatus stream, int openStreams)
    {
        var status = Common(stream);
        status.OpenStreams = openStreams;
        if (_store?.OutOfContactFor is not null)
        {
            // What the node acknowledged may no longer be what the store holds.
            foreach (var type in status.ResourceTypes.Where(t => t.State == SyncState.Synced))
            {
                type.State = SyncState.Stale;
            }
        }
        status.State = SyncStates.Overall(status.ResourceTypes.Select(t => t.State));
        status.ControlPlaneId = stream.ControlPlaneId;
        status.ConnectedSince = Timestamp.FromDateTimeOffset(stream.ConnectedSince);
        return status;
    }

    private static DataplaneStatus Disconnected(DataplaneStreamStatus final, DateTimeOffset at)
    {
        var status = Common(final);
        MarkDisconnected(status);
        status.DisconnectedAt = Timestamp.FromDateTimeOffset(at);
        return status;
    }

    /// <summary>
    /// A node without a stream, and each of its types: what it was sent and acknowledged stays as its last
    /// stream left it, but nothing says it is in step with the configuration now.
    /// </summary>
    private static void MarkDisconnected(DataplaneStatus status)
    {
        status.State = SyncState.Disconnected;
        status.OpenStreams = 0;
        foreach (var type in status.ResourceTypes)
        {
            type.State = SyncState.Disconnected;
        }
    }

    /// <summary>Under the lock: a node's last stream here, with a refusal since (the node came back and was turned away).</summary>
    private DataplaneStatus DisconnectedLocked(DataplaneStreamStatus final, DateTimeOffset at)
    {
        var status = Disconnected(final, at);
        if (_refused.TryGetValue(final.NodeId, out var refused) && refused.At >= at)
        {
            status.Refusal = refused.Why.Clone();
            status.RefusedAt = Timestamp.FromDateTimeOffset(refused.At);
        }
        return status;
    }

    /// <summary>A node known here only by its refused stream: its identity as sent, no resource types.</summary>
    private static DataplaneStatus Refused(DataplaneStreamStatus final, DateTimeOffset at, Google.Rpc.Status why)
    {
        var status = Disconnected(final, at);
        status.Refusal = why.Clone();
        status.RefusedAt = Timestamp.FromDateTimeOffset(at);
        return status;
    }

    private static DataplaneStatus Common(DataplaneStreamStatus stream)
    {
        var status = new DataplaneStatus
        {
            Node = stream.Node.Clone(),
            StreamKind = stream.Variant,
            PeerAddress = stream.Peer,
            Credential = stream.Credential,
            LastRequestAt = Timestamp.FromDateTimeOffset(stream.LastRequestAt),
        };
        foreach (var type in stream.Types)
        {
            var typeStatus = new ResourceTypeSyncStatus
            {
                TypeUrl = type.TypeUrl,
                State = SyncStates.Of(type),
                Wildcard = type.Wildcard,
                ResourceCount = type.ResourceCount,
                VersionSent = type.VersionSent,
                NonceSent = type.NonceSent,
                VersionAcked = type.VersionAcked,
                VersionRejected = type.VersionRejected,
                VersionCurrent = type.VersionCurrent,
                RejectionError = type.RejectionError?.Clone(),
            };
            if (type.SentAt is { } sent)
            {
                typeStatus.SentAt = Timestamp.FromDateTimeOffset(sent);
            }
            if (type.AckedAt is { } acked)
            {
                typeStatus.AckedAt = Timestamp.FromDateTimeOffset(acked);
            }
            if (type.RejectedAt is { } rejected)
            {
                typeStatus.RejectedAt = Timestamp.FromDateTimeOffset(rejected);
            }
            status.ResourceTypes.Add(typeStatus);
        }
        return status;
    }

    public void Dispose() => _streams.Changed -= OnChanged;
}
