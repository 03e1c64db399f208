namespace ControlPlane.Server.Stats;

/// <summary>
/// The embedded store: counts in <see cref="StatsOptions.BucketWidth"/> buckets kept for
/// <see cref="StatsOptions.Retention"/>, and the last accepted sequence of each (node, epoch). One
/// lock covers both, which is what makes acceptance and counting one step. Buckets and epochs are
/// trimmed as calls come in, so memory follows traffic, not uptime.
/// </summary>
public sealed class InMemoryLoadStore : ILoadStore
{
    private readonly Lock _lock = new();
    private readonly StatsOptions _options;
    private readonly TimeProvider _time;
    private readonly long _width = StatsOptions.BucketWidth.Ticks;
    private readonly SortedDictionary<long, Bucket> _buckets = [];
    private readonly Dictionary<string, Dictionary<string, EpochState>> _nodes = new(StringComparer.Ordinal);
    private DateTimeOffset _nextEpochSweep;

    public InMemoryLoadStore(StatsOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _time = time;
    }

    public ValueTask<ulong> LastAcceptedAsync(ReportKey key, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            EpochState? state = null;
            _ = _nodes.TryGetValue(key.NodeId, out var epochs) && epochs.TryGetValue(key.Epoch, out state);
            return ValueTask.FromResult(state?.LastAccepted ?? 0);
        }
    }

    public ValueTask<ReportResult> ApplyAsync(ReportKey key, ulong sequence, LoadBatch batch, DateTimeOffset receivedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            Trim(receivedAt);
            _nodes.TryGetValue(key.NodeId, out var epochs);
            EpochState? state = null;
            epochs?.TryGetValue(key.Epoch, out state);
            var last = state?.LastAccepted ?? 0;
            if (state is not null)
            {
                state.LastSeen = receivedAt;
            }
            if (sequence <= last)
            {
                return ValueTask.FromResult(new ReportResult(ReportDisposition.Duplicate, last));
            }
            if (sequence != last + 1)
            {
                // Nothing is remembered for a gap: an unknown epoch stays unknown.
                return ValueTask.FromResult(new ReportResult(ReportDisposition.Gap, last));
            }
            if (state is null)
            {
                state = new EpochState { LastSeen = receivedAt };
                if (epochs is null)
                {
                    epochs = new Dictionary<string, EpochState>(StringComparer.Ordinal);
                    _nodes.Add(key.NodeId, epochs);
                }
                if (epochs.Count >= _options.MaxEpochsPerNode)
                {
                    epochs.Remove(epochs.MinBy(e => e.Value.LastSeen).Key);
                }
                epochs.Add(key.Epoch, state);
            }
            BucketAt(receivedAt).Add(batch);
            state.LastAccepted = sequence;
            return ValueTask.FromResult(new ReportResult(ReportDisposition.Accepted, sequence));
        }
    }

    public ValueTask<IReadOnlyList<LoadTotal>> SumAsync(LoadScope scope, DateTimeOffset start, DateTimeOffset end, string? image, CancellationToken cancellationToken = default)
    {
        // Buckets that start in [start, end): indexes from ceil(start / width) to below ceil(end / width).
        var first = CeilingIndex(start);
        var stop = CeilingIndex(end);
        var totals = new Dictionary<(string Image, string Instance), LoadCounts>();
        lock (_lock)
        {
            Trim(_time.GetUtcNow());
            foreach (var (index, bucket) in _buckets)
            {
                if (index < first)
                {
                    continue;
                }
                if (index >= stop)
                {
                    break;
                }
                if (scope == LoadScope.Images)
                {
                    foreach (var (name, counts) in bucket.Images)
                    {
                        Accumulate(totals, (name, ""), counts, image);
                    }
                }
                else
                {
                    foreach (var (k, counts) in bucket.Instances)
                    {
                        Accumulate(totals, k, counts, image);
                    }
                }
            }
        }
        IReadOnlyList<LoadTotal> result = [.. totals
            .OrderBy(t => t.Key.Image, StringComparer.Ordinal).ThenBy(t => t.Key.Instance, StringComparer.Ordinal)
            .Select(t => new LoadTotal(t.Key.Image, t.Key.Instance, t.Value))];
        return ValueTask.FromResult(result);
    }

    private static void Accumulate(Dictionary<(string, string), LoadCounts> totals, (string Image, string Instance) key, LoadCounts counts, string? image)
    {
        if (image is not null && !string.Equals(key.Image, image, StringComparison.Ordinal))
        {
            return;
        }
        if (totals.TryGetValue(key, out var total))
        {
            total.Add(counts);
        }
        else
        {
            totals.Add(key, counts.Clone());
        }
    }

    private long CeilingIndex(DateTimeOffset at) => (at.UtcTicks + _width - 1) / _width; // UtcTicks is never negative

    private Bucket BucketAt(DateTimeOffset at)
    {
        var index = at.UtcTicks / _width;
        if (!_buckets.TryGetValue(index, out var bucket))
        {
            bucket = new Bucket();
            _buckets.Add(index, bucket);
        }
        return bucket;
    }

    /// <summary>Under the lock: drops buckets that ended before the retention, and (at most once a minute) epochs idle too long.</summary>
    private void Trim(DateTimeOffset now)
    {
        var oldest = (now - _options.Retention).UtcTicks;
        while (_buckets.Count > 0)
        {
            var first = _buckets.First().Key;
            if ((first + 1) * _width > oldest)
            {
                break;
            }
            _buckets.Remove(first);
        }
        if (now < _nextEpochSweep)
        {
            return;
        }
        _nextEpochSweep = now + TimeSpan.FromMinutes(1);
        var idleSince = now - _options.EpochRetention;
        foreach (var (node, epochs) in _nodes.ToList())
        {
            foreach (var (epoch, state) in epochs.ToList())
            {
                if (state.LastSeen < idleSince)
                {
                    epochs.Remove(epoch);
                }
            }
            if (epochs.Count == 0)
            {
                _nodes.Remove(node);
            }
        }
    }

    private sealed class EpochState
    {
        public ulong LastAccepted { get; set; }

        public DateTimeOffset LastSeen { get; set; }
    }

    private sealed class Bucket
    {
        public Dictionary<string, LoadCounts> Images { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Image, string Instance), LoadCounts> Instances { get; } = [];

        public void Add(LoadBatch batch)
        {
            foreach (var image in batch.Images)
            {
                AddTo(Images, image.Image, image.Counts);
                foreach (var instance in image.Instances)
                {
                    AddTo(Instances, (image.Image, instance.InstanceId), instance.Counts);
                }
            }
        }

        private static void AddTo<TKey>(Dictionary<TKey, LoadCounts> map, TKey key, LoadCounts counts)
            where TKey : notnull
        {
            if (map.TryGetValue(key, out var existing))
            {
                existing.Add(counts);
            }
            else
            {
                map.Add(key, counts.Clone());
            }
        }
    }
}
