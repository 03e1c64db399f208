using System.Collections.Concurrent;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// The discovery streams open on this replica: the read-only view the fleet sync view uses, the
/// stream gauges, and the sweep that closes stuck streams. A stream is in here exactly while its
/// call runs.
/// </summary>
internal sealed class StreamRegistry : IDataplaneStreams, IDisposable
{
    private const string ShuttingDown = "the control plane is shutting down; reconnect to another replica";

    private readonly ConcurrentDictionary<long, IDiscoveryStream> _streams = new();

    // Streams by node id, so that a node's lookup (the fleet view asks on every close) does not scan
    // every open stream: with N nodes leaving at once that scan made closing O(N²).
    private readonly Dictionary<string, List<IDiscoveryStream>> _byNode = new(StringComparer.Ordinal);
    private readonly IResourceWatch _cache;
    private readonly DiscoveryOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ITimer _sweep;
    private volatile bool _stopping;

    public StreamRegistry(
        IResourceWatch cache, DiscoveryOptions options, TimeProvider clock, DiscoveryMetrics metrics, ILogger<StreamRegistry> logger, IHostApplicationLifetime? lifetime = null)
    {
        // On shutdown, end every stream with UNAVAILABLE at once: nodes reconnect to another replica
        // instead of holding the process until the host's shutdown timeout.
        lifetime?.ApplicationStopping.Register(static s => ((StreamRegistry)s!).Stop(), this);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _cache = cache;
        _options = options;
        _clock = clock;
        _logger = logger;
        metrics.Streams = Counts;
        _sweep = clock.CreateBackgroundTimer(static s => ((StreamRegistry)s!).Sweep(), this, options.StuckCheckInterval, options.StuckCheckInterval);
    }

    public event Action<DataplaneStreamEvent>? Changed;

    public int Count => _streams.Count;

    /// <summary>The open streams themselves (diagnostics and tests).</summary>
    internal IEnumerable<IDiscoveryStream> Open => _streams.Values;

    public IReadOnlyList<DataplaneStreamStatus> List() =>
        _streams.Values.Select(s => s.Snapshot()).OrderBy(s => s.NodeId, StringComparer.Ordinal).ThenBy(s => s.StreamId).ToArray();

    public IReadOnlyList<DataplaneStreamStatus> ForNode(string nodeId)
    {
        IDiscoveryStream[] streams;
        lock (_byNode)
        {
            if (!_byNode.TryGetValue(nodeId, out var list))
            {
                return [];
            }
            streams = [.. list];
        }
        return streams.Select(s => s.Snapshot()).OrderBy(s => s.StreamId).ToArray();
    }

    public void Add<TStream>(TStream stream)
        where TStream : IDiscoveryStream
    {
        _streams[stream.Id] = stream;
        lock (_byNode)
        {
            if (!_byNode.TryGetValue(stream.NodeId, out var list))
            {
                _byNode[stream.NodeId] = list = [];
            }
            list.Add(stream);
        }
        var snapshot = stream.Snapshot();
        DiscoveryLog.StreamOpened(_logger, stream.NodeId, stream.Variant, stream.Id, snapshot.Peer);
        Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Opened, stream.NodeId, stream.Id));
        // Added after Stop() read the streams (it sets the flag first, so one of the two sees it).
        if (_stopping)
        {
            stream.Close(ShuttingDown, stuck: false);
        }
    }

    public void Remove<TStream>(TStream stream, string outcome)
        where TStream : IDiscoveryStream
    {
        if (!_streams.TryRemove(stream.Id, out _))
        {
            return;
        }
        lock (_byNode)
        {
            if (_byNode.TryGetValue(stream.NodeId, out var list) && list.Remove(stream) && list.Count == 0)
            {
                _byNode.Remove(stream.NodeId);
            }
        }
        var final = stream.Snapshot();
        DiscoveryLog.StreamClosed(_logger, stream.Id, stream.NodeId, _clock.GetUtcNow() - final.ConnectedSince, outcome);
        Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Closed, stream.NodeId, stream.Id, final));
    }

    /// <summary>Reports <paramref name="stream"/>, never added, as refused with <paramref name="refusal"/>.</summary>
    public void Refused<TStream>(TStream stream, ControlPlane.Grpc.Status refusal)
        where TStream : IDiscoveryStream =>
        Raise(new DataplaneStreamEvent(DataplaneStreamEventKind.Refused, stream.NodeId, stream.Id, stream.Snapshot(),
            refusal.Details?.Clone() ?? new Google.Rpc.Status { Code = (int)refusal.StatusCode, Message = refusal.Detail }));

    public void Raise(DataplaneStreamEvent e) => Changed?.Invoke(e);

    /// <summary>
    /// From now on every stream is closed, including one that opens after this: a node that
    /// reconnects at once (to the same replica, while Kestrel still serves its connection) would
    /// otherwise hold the process until the host's shutdown timeout, and wait that long itself.
    /// </summary>
    private void Stop()
    {
        _stopping = true;
        CloseAll(ShuttingDown);
    }

    internal void CloseAll(string why)
    {
        foreach (var stream in _streams.Values)
        {
            stream.Close(why, stuck: false);
        }
    }

    /// <summary>
    /// Ends, with UNAVAILABLE and <paramref name="reason"/>, every stream opened by <paramref name="openedBy"/>,
    /// so their nodes reconnect, to another replica when they know one; returns how many.
    /// </summary>
    internal int HandOff(DateTimeOffset openedBy, string why, string reason)
    {
        var count = 0;
        foreach (var stream in _streams.Values)
        {
            if (stream.ConnectedSince <= openedBy)
            {
                stream.Close(why, stuck: false, reason);
                count++;
            }
        }
        return count;
    }

    /// <summary>Closes the streams whose nodes have held back work for longer than the stuck timeout.</summary>
    internal void Sweep()
    {
        if (!_cache.WhenWarm.IsCompletedSuccessfully)
        {
            return; // waiting for the cache is the server's delay, not the node's
        }
        foreach (var stream in _streams.Values)
        {
            if (stream.CheckStuck(_options.StuckStreamTimeout) is { } why)
            {
                stream.Close(why);
            }
        }
    }

    private (int Sotw, int Delta, int Nodes, long Queued) Counts()
    {
        int sotw = 0, delta = 0;
        long queued = 0;
        var nodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stream in _streams.Values)
        {
            if (stream.Variant == "sotw")
            {
                sotw++;
            }
            else
            {
                delta++;
            }
            nodes.Add(stream.NodeId);
            queued += stream.QueueDepth;
        }
        return (sotw, delta, nodes.Count, queued);
    }

    public void Dispose() => _sweep.Dispose();
}
