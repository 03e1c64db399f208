using ControlPlane.Api.V1;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// What a replica holds of the store in memory, so that reads keep being answered while Redis cannot
/// be reached: every instance record and every routing policy, as the discovery cache last read them.
/// It is fed only by the cache's loads (<see cref="MirroredRegistryReads"/>, <see cref="MirroredPolicyReads"/>),
/// which run one at a time, each after the change it takes and in the order of the changes, so the
/// mirror is exactly as current as what the replica pushes to its nodes, and a slower read never
/// overwrites a newer one. Lease deadlines in it are as last read (renewals are not changes); the
/// registry store merges in this replica's own renewals when it answers. Thread-safe.
/// </summary>
internal sealed class StoreMirror
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, InstanceRecord> _instances = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, RoutingPolicy> _policies = new(StringComparer.Ordinal);
    private bool _hasInstances;
    private bool _hasPolicies;

    /// <summary>True once every instance was read (the cache warmed up): listings can be answered.</summary>
    public bool HasInstances
    {
        get
        {
            lock (_lock)
            {
                return _hasInstances;
            }
        }
    }

    /// <summary>True once every policy was read.</summary>
    public bool HasPolicies
    {
        get
        {
            lock (_lock)
            {
                return _hasPolicies;
            }
        }
    }

    /// <summary>A full listing: the store holds exactly <paramref name="records"/>.</summary>
    public void ReplaceInstances(IEnumerable<InstanceRecord> records)
    {
        lock (_lock)
        {
            _instances.Clear();
            foreach (var record in records)
            {
                _instances[record.InstanceId] = record;
            }
            _hasInstances = true;
        }
    }

    /// <summary>An image's listing: its instances are exactly <paramref name="records"/>.</summary>
    public void ReplaceImage(string image, IReadOnlyList<InstanceRecord> records)
    {
        lock (_lock)
        {
            foreach (var gone in _instances.Values.Where(r => r.Spec.Image == image).Select(r => r.InstanceId).ToList())
            {
                _instances.Remove(gone);
            }
            foreach (var record in records)
            {
                _instances[record.InstanceId] = record;
            }
        }
    }

    /// <summary>Reads of <paramref name="instanceIds"/>: <paramref name="records"/> in the same order, null for an id the store does not have.</summary>
    public void Patch(IReadOnlyList<string> instanceIds, IReadOnlyList<InstanceRecord?> records)
    {
        lock (_lock)
        {
            for (var i = 0; i < instanceIds.Count; i++)
            {
                if (records[i] is { } record)
                {
                    _instances[record.InstanceId] = record;
                }
                else
                {
                    _instances.Remove(instanceIds[i]);
                }
            }
        }
    }

    public void ReplacePolicies(IEnumerable<RoutingPolicy> policies)
    {
        lock (_lock)
        {
            _policies.Clear();
            foreach (var policy in policies)
            {
                _policies[policy.Image] = policy.Clone();
            }
            _hasPolicies = true;
        }
    }

    /// <summary>A read of <paramref name="image"/>'s policy: <paramref name="policy"/>, or null when it has none.</summary>
    public void PatchPolicy(string image, RoutingPolicy? policy)
    {
        lock (_lock)
        {
            if (policy is null)
            {
                _policies.Remove(image);
            }
            else
            {
                _policies[image] = policy.Clone();
            }
        }
    }

    public InstanceRecord? Get(string instanceId)
    {
        lock (_lock)
        {
            return _instances.GetValueOrDefault(instanceId);
        }
    }

    /// <summary>The instances matching <paramref name="query"/>, ordered by instance id, as the store lists them.</summary>
    public List<InstanceRecord> List(InstanceQuery query, Func<InstanceRecord, InstanceRecord> merge)
    {
        if (query.Limit <= 0)
        {
            return [];
        }
        List<InstanceRecord> matches;
        lock (_lock)
        {
            matches = [.. _instances.Values.Where(r =>
                (query.Name is null || r.Spec.Name == query.Name)
                && (query.Image is null || r.Spec.Image == query.Image)
                && (query.AfterInstanceId is null || string.CompareOrdinal(r.InstanceId, query.AfterInstanceId) > 0))];
        }
        // The status filter after the merge: this replica's renewals are part of what it answers.
        matches = matches.ConvertAll(r => merge(r));
        matches.RemoveAll(r => query.Status is { } status && r.Status != status);
        matches.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        if (matches.Count > query.Limit)
        {
            matches.RemoveRange(query.Limit, matches.Count - query.Limit);
        }
        return matches;
    }

    public RegistryCounts Count()
    {
        int healthy = 0, draining = 0, expired = 0;
        lock (_lock)
        {
            foreach (var record in _instances.Values)
            {
                switch (record.Status)
                {
                    case InstanceStatus.Healthy:
                        healthy++;
                        break;
                    case InstanceStatus.Draining:
                        draining++;
                        break;
                    default:
                        expired++;
                        break;
                }
            }
        }
        return new RegistryCounts(healthy, draining, expired);
    }

    public RoutingPolicy? Policy(string image)
    {
        lock (_lock)
        {
            return _policies.GetValueOrDefault(image)?.Clone();
        }
    }

    /// <summary>Policies ordered by image, after <paramref name="afterImage"/>, at most <paramref name="limit"/>.</summary>
    public RoutingPolicy[] Policies(string? afterImage, int limit)
    {
        lock (_lock)
        {
            return [.. _policies.Values.Where(p => afterImage is null || string.CompareOrdinal(p.Image, afterImage) > 0).Take(limit).Select(p => p.Clone())];
        }
    }

    /// <summary>
    /// A read: from Redis, or from memory (<paramref name="fromMemory"/>, the request marked as served
    /// from memory: <see cref="MemoryReads"/>) when the mirror has what it needs (<paramref name="has"/>)
    /// and Redis is known to be unreachable (at once), this read fails because of it, or Redis has not
    /// answered it within <see cref="RedisConnection.ReadPatience"/>: a Redis that hangs is known
    /// unreachable only once a call has waited out the command timeout (5 s), which a read the mirror
    /// can answer does not wait for. The read sent to Redis runs on; its answer is dropped.
    /// </summary>
    public static async ValueTask<T> ReadAsync<T>(RedisConnection redis, StoreMirror? mirror, Func<StoreMirror, bool> has, Func<Task<T>> fromRedis, Func<StoreMirror, T> fromMemory)
    {
        if (Serves(redis, mirror, has, failed: false))
        {
            return fromMemory(mirror!);
        }
        var read = fromRedis();
        try
        {
            if (read.IsCompleted || mirror is null || !has(mirror))
            {
                return await read;
            }
            return await read.WaitAsync(redis.ReadPatience, redis.Clock);
        }
        catch (TimeoutException) when (!read.IsCompleted && Serves(redis, mirror, has, failed: true))
        {
            RedisConnection.Observe(read);
            return fromMemory(mirror!);
        }
        catch (StoreUnavailableException) when (Serves(redis, mirror, has, failed: true))
        {
            return fromMemory(mirror!);
        }
    }

    private static bool Serves(RedisConnection redis, StoreMirror? mirror, Func<StoreMirror, bool> has, bool failed)
    {
        if (mirror is null || !has(mirror) || !(failed || redis.Unreachable))
        {
            return false;
        }
        MemoryReads.Mark(redis.SinceLastAnswer);
        return true;
    }
}
