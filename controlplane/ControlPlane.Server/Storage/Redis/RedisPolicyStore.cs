using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Routing policies on Redis, with the layout <see cref="IPolicyStore"/> describes:
/// <c>policy:{image}</c> (JSON), <c>policies</c> (zset of images), <c>policy_changes:{image}</c>
/// (list of audit records, newest first, trimmed). A write and its audit record are one script,
/// and the script, not the caller, reads what "before" was. While Redis cannot be reached, a policy
/// and the list of policies are answered from the replica's <see cref="StoreMirror"/>, marked as
/// served from memory; the audit trail is not kept in memory.
/// </summary>
internal sealed class RedisPolicyStore : IPolicyStore
{
    private readonly RedisConnection _redis;
    private readonly RedisValue _prefix;
    private readonly StoreMirror? _mirror;

    public RedisPolicyStore(RedisConnection redis, int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage, StoreMirror? mirror = null)
    {
        _mirror = mirror;
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChangesPerImage);
        _redis = redis;
        _prefix = redis.KeyPrefix;
        MaxChangesPerImage = maxChangesPerImage;
    }

    public int MaxChangesPerImage { get; }

    public ValueTask<RoutingPolicy?> GetAsync(string image, CancellationToken cancellationToken = default) =>
        StoreMirror.ReadAsync(_redis, _mirror, static m => m.HasPolicies, () => GetFromRedisAsync(image, cancellationToken), m => m.Policy(image));

    public ValueTask<IReadOnlyList<RoutingPolicy>> ListAsync(string? afterImage = null, int limit = int.MaxValue, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return ValueTask.FromResult<IReadOnlyList<RoutingPolicy>>([]);
        }
        return StoreMirror.ReadAsync(_redis, _mirror, static m => m.HasPolicies, () => ListFromRedisAsync(afterImage, limit, cancellationToken),
            m => (IReadOnlyList<RoutingPolicy>)m.Policies(afterImage, limit));
    }

    /// <summary>The policy as Redis holds it; never from memory.</summary>
    internal async Task<RoutingPolicy?> GetFromRedisAsync(string image, CancellationToken cancellationToken)
    {
        var json = await _redis.RunAsync(db => db.StringGetAsync(PolicyKey(image)), cancellationToken);
        return json.IsNull ? null : PolicyJson.ParsePolicy(json!);
    }

    /// <summary>Policies as Redis holds them; never from memory.</summary>
    internal async Task<IReadOnlyList<RoutingPolicy>> ListFromRedisAsync(string? afterImage, int limit, CancellationToken cancellationToken)
    {
        var from = afterImage is null ? "-" : "(" + afterImage;
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.ListPolicies, [_prefix, from, limit == int.MaxValue ? -1 : limit], cancellationToken))!;
        return reply.Select(r => PolicyJson.ParsePolicy((string)r!)).ToArray();
    }

    public async ValueTask<PolicyWrite> SetAsync(RoutingPolicy policy, PolicyAudit audit, string? ifVersion = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(audit);
        var json = PolicyJson.Format(policy);
        var head = PolicyJson.ChangeHead(policy.Image, PolicyActions.Set, audit);
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.SetPolicy,
            [_prefix, policy.Image, json, policy.Version, head, MaxChangesPerImage, ifVersion ?? ""], cancellationToken))!;
        var previous = reply[1].IsNull ? null : PolicyJson.ParsePolicy((string)reply[1]!);
        return (int)reply[0] switch
        {
            0 => new PolicyWrite(false, previous!, previous!.Clone()),
            2 => PolicyWrite.Mismatch(previous),
            _ => new PolicyWrite(true, policy.Clone(), previous),
        };
    }

    public async ValueTask<RoutingPolicy?> DeleteAsync(string image, PolicyAudit audit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var head = PolicyJson.ChangeHead(image, PolicyActions.Delete, audit);
        var reply = await _redis.EvaluateAsync(RedisScripts.DeletePolicy, [_prefix, image, head, MaxChangesPerImage], cancellationToken);
        return reply.IsNull ? null : PolicyJson.ParsePolicy((string)reply!);
    }

    public async ValueTask<IReadOnlyList<PolicyChange>> ListChangesAsync(string image, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return [];
        }
        var records = await _redis.RunAsync(db => db.ListRangeAsync(ChangesKey(image), 0, limit - 1), cancellationToken);
        return records.Select(r => PolicyJson.ParseChange(r!)).ToArray();
    }

    private RedisKey PolicyKey(string image) => _redis.KeyPrefix + "policy:" + image;

    private RedisKey ChangesKey(string image) => _redis.KeyPrefix + "policy_changes:" + image;
}
