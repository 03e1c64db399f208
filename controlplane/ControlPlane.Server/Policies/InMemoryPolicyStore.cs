using ControlPlane.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Policies;

/// <summary>
/// The embedded policy store: policies ordered by image, and a bounded audit trail per image (the
/// newest <see cref="MaxChangesPerImage"/> records), under one lock so that every write and its
/// record happen together.
/// </summary>
public sealed class InMemoryPolicyStore(int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage) : IPolicyStore
{
    public const int DefaultMaxChangesPerImage = 1000;

    private readonly object _lock = new();
    private readonly SortedList<string, RoutingPolicy> _policies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LinkedList<PolicyChange>> _changes = new(StringComparer.Ordinal);

    public int MaxChangesPerImage { get; } = maxChangesPerImage > 0 ? maxChangesPerImage : throw new ArgumentOutOfRangeException(nameof(maxChangesPerImage));

    public ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_policies.TryGetValue(image, out var policy) ? policy.Clone() : null);
        }
    }

    public ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(string? afterImage = null, int limit = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        lock (_lock)
        {
            var keys = _policies.Keys;
            var start = afterImage is null ? 0 : FirstAfter(keys, afterImage);
            var page = new List<RoutingPolicy>(Math.Min(limit, keys.Count - start));
            for (var i = start; i < keys.Count && page.Count < limit; i++)
            {
                page.Add(_policies.Values[i].Clone());
            }
            return ValueTask.FromResult<IReadOnlyList<RoutingPolicy>>(page);
        }
    }

    public ValueTask<PolicyWrite> SetAsync(RoutingPolicy policy, PolicyAudit audit, string? ifVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(audit);
        var stored = policy.Clone();
        lock (_lock)
        {
            _policies.TryGetValue(stored.Image, out var before);
            if (ifVersion is not null && before?.Version != ifVersion)
            {
                return ValueTask.FromResult(PolicyWrite.Mismatch(before?.Clone()));
            }
            if (before is not null && before.Version == stored.Version)
            {
                return ValueTask.FromResult(new PolicyWrite(false, before.Clone(), before.Clone()));
            }
            audit = InOrder(stored.Image, audit);
            stored.UpdatedAt = Timestamp.FromDateTimeOffset(audit.At);
            _policies[stored.Image] = stored;
            Record(PolicyActions.Set, stored.Image, audit, before, stored);
            return ValueTask.FromResult(new PolicyWrite(true, stored.Clone(), before?.Clone()));
        }
    }

    public ValueTask<RoutingPolicy?> DeleteAsync(string image, PolicyAudit audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        lock (_lock)
        {
            if (!_policies.Remove(image, out var before))
            {
                return ValueTask.FromResult<RoutingPolicy?>(null);
            }
            Record(PolicyActions.Delete, image, InOrder(image, audit), before, null);
            return ValueTask.FromResult<RoutingPolicy?>(before.Clone());
        }
    }

    public ValueTask<IReadOnlyList<PolicyChange>> ListChangesAsync(string image, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        lock (_lock)
        {
            IReadOnlyList<PolicyChange> changes = _changes.TryGetValue(image, out var trail) ? [.. trail.Take(limit).Select(c => c.Clone())] : [];
            return ValueTask.FromResult(changes);
        }
    }

    // Under _lock. A change read the clock before it took the lock: one applied after another never
    // carries an earlier time than it (the trail sorts by time as it sorts by order).
    private PolicyAudit InOrder(string image, PolicyAudit audit)
    {
        if (_changes.TryGetValue(image, out var trail) && trail.First?.Value.ChangedAt.ToDateTimeOffset() is { } last && last > audit.At)
        {
            return audit with { At = last };
        }
        return audit;
    }

    // Under _lock.
    private void Record(string action, string image, PolicyAudit audit, RoutingPolicy? before, RoutingPolicy? after)
    {
        if (!_changes.TryGetValue(image, out var trail))
        {
            _changes[image] = trail = new LinkedList<PolicyChange>();
        }
        trail.AddFirst(new PolicyChange
        {
            Image = image,
            Action = action,
            ChangedAt = Timestamp.FromDateTimeOffset(audit.At),
            Actor = audit.Actor,
            // Shared with the store and the neighbouring records (one record's after is the next one's
            // before): stored messages are never modified, and readers get clones.
            Before = before,
            After = after,
            Reason = audit.Reason,
            RequestId = audit.RequestId,
        });
        while (trail.Count > MaxChangesPerImage)
        {
            trail.RemoveLast();
        }
    }

    private static int FirstAfter(IList<string> keys, string after)
    {
        int low = 0, high = keys.Count;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (string.CompareOrdinal(keys[mid], after) <= 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return low;
    }
}
