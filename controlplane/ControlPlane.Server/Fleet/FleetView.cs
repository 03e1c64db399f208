using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Registry;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Fleet;

/// <summary>
/// Every dataplane node this replica knows: those with an open discovery stream (their live
/// bookkeeping) and those whose last stream closed within <see cref="FleetOptions.DisconnectedRetention"/>
/// (their final state, DISCONNECTED). Built from <see cref="IDataplaneStreams"/>; holds nothing
/// else, so a node that left and aged out leaves no trace.
/// </summary>
public sealed class FleetView : IDataplaneDirectory, IDisposable
{
    private readonly IDataplaneStreams _streams;
    private readonly FleetOptions _options;
    private readonly TimeProvider _clock;
    private readonly object _lock = new();
    private readonly Dictionary<string, (DataplaneStreamStatus Final, DateTimeOffset At)> _disconnected = new(StringComparer.Ordinal);

    public FleetView(IDataplaneStreams streams, FleetOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        _streams = streams;
        _options = options;
        _clock = clock;
        _streams.Changed += OnChanged;
    }

    /// <summary>Every known node, ordered by node id.</summary>
    public IReadOnlyList<DataplaneStatus> List()
    {
        var open = _streams.List();
        var result = new SortedDictionary<string, DataplaneStatus>(StringComparer.Ordinal);
        foreach (var stream in open)
        {
            // While a reconnect overlaps, the newest stream speaks for the node.
            if (!result.TryGetValue(stream.NodeId, out var seen) || seen.ConnectedSince.ToDateTimeOffset() <= stream.ConnectedSince)
            {
                result[stream.NodeId] = Connected(stream);
            }
        }
        lock (_lock)
        {
            Purge();
            foreach (var (nodeId, (final, at)) in _disconnected)
            {
                result.TryAdd(nodeId, Disconnected(final, at));
            }
        }
        return result.Values.ToArray();
    }

    public DataplaneStatus? Get(string nodeId)
    {
        var open = _streams.ForNode(nodeId);
        if (open.Count > 0)
        {
            return Connected(open[^1]);
        }
        lock (_lock)
        {
            Purge();
            return _disconnected.TryGetValue(nodeId, out var entry) ? Disconnected(entry.Final, entry.At) : null;
        }
    }

    IReadOnlyList<TopologyDataplane> IDataplaneDirectory.List() => List().Select(d => new TopologyDataplane
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
                }
                break;
            case DataplaneStreamEventKind.Closed when change.Final is { } final:
                if (_streams.ForNode(change.NodeId).Count == 0)
                {
                    lock (_lock)
                    {
                        _disconnected[change.NodeId] = (final, _clock.GetUtcNow());
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
    }

    private static DataplaneStatus Connected(DataplaneStreamStatus stream)
    {
        var status = Common(stream);
        status.State = SyncStates.Overall(status.ResourceTypes.Select(t => t.State));
        status.ControlPlaneId = stream.ControlPlaneId;
        status.ConnectedSince = Timestamp.FromDateTimeOffset(stream.ConnectedSince);
        return status;
    }

    private static DataplaneStatus Disconnected(DataplaneStreamStatus final, DateTimeOffset at)
    {
        var status = Common(final);
        status.State = SyncState.Disconnected;
        status.DisconnectedAt = Timestamp.FromDateTimeOffset(at);
        return status;
    }

    private static DataplaneStatus Common(DataplaneStreamStatus stream)
    {
        var status = new DataplaneStatus
        {
            Node = stream.Node.Clone(),
            StreamKind = stream.Variant,
            PeerAddress = stream.Peer,
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
