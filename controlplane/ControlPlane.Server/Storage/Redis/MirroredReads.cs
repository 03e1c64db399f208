using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The registry as the discovery cache's loader reads it on Redis: always from Redis (a load answered
/// from memory would take a change as read when it was not), and every answer recorded in the
/// <see cref="StoreMirror"/>: the full listing replaces the mirror's instances (and keeps in the lease
/// table only the ids it lists: <see cref="RedisLeaseTable.Retain"/>), an image's listing that image's,
/// and a read of named instances patches those (and the lease table's view of them:
/// <see cref="RedisLeaseTable.Refresh"/>). Every other call is the store's.
/// </summary>
internal sealed class MirroredRegistryReads(RedisRegistryStore store, StoreMirror mirror) : IRegistryStore
{
    public async ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var records = await store.ListFromRedisAsync(query, cancellationToken);
        var unfiltered = query.Status is null && query.AfterInstanceId is null && query.Limit == int.MaxValue;
        if (unfiltered && query.Name is null && query.Image is null)
        {
            mirror.ReplaceInstances(records);
            store.Leases?.Retain(records);
        }
        else if (unfiltered && query.Name is null && query.Image is { } image)
        {
            mirror.ReplaceImage(image, records);
        }
        return records;
    }

    public async ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var records = await store.GetManyFromRedisAsync(instanceIds, cancellationToken);
        mirror.Patch(instanceIds, records);
        store.Leases?.Refresh(instanceIds, records);
        return records;
    }

    public async ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var record = await store.GetFromRedisAsync(instanceId, cancellationToken);
        mirror.Patch([instanceId], [record]);
        store.Leases?.Refresh([instanceId], [record]);
        return record;
    }

    public ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.RegisterAsync(spec, now, cancellationToken);

    public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.RenewAsync(instanceIds, ttlSeconds, now, cancellationToken);

    public ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default) =>
        store.DeregisterAsync(instanceId, cancellationToken);

    public ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default) =>
        store.AnnounceGoneAsync(image, instanceId, cancellationToken);

    public ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default) =>
        store.SetDrainingAsync(instanceId, draining, cancellationToken);

    public ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default) =>
        store.ScanExpiryAsync(now, retention, limit, recentWindow, cancellationToken);

    public ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        store.ExpireAsync(instanceIds, now, cancellationToken);

    public ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default) =>
        store.RemoveExpiredAsync(now, retention, cancellationToken);

    public ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default) => store.CountAsync(cancellationToken);

    public ValueTask PingAsync(CancellationToken cancellationToken = default) => store.PingAsync(cancellationToken);

    public bool KnownUnreachable => store.KnownUnreachable;
}

/// <summary>
/// The policies as the discovery cache's loader reads them on Redis: always from Redis, every answer
/// recorded in the <see cref="StoreMirror"/> (the full listing replaces its policies, a read of one patches it).
/// </summary>
internal sealed class MirroredPolicyReads(RedisPolicyStore store, StoreMirror mirror) : IRoutingPolicySource
{
    public async ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default)
    {
        var policy = await store.GetFromRedisAsync(image, cancellationToken);
        mirror.PatchPolicy(image, policy);
        return policy;
    }

    public async ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(CancellationToken cancellationToken = default)
    {
        var policies = await store.ListFromRedisAsync(null, int.MaxValue, cancellationToken);
        mirror.ReplacePolicies(policies);
        return policies;
    }
}
