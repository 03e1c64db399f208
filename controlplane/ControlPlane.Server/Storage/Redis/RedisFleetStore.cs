using ControlPlane.Api.V1;
using ControlPlane.Server.Fleet;
using Google.Protobuf;
using StackExchange.Redis;
using static ControlPlane.Server.Storage.Redis.RedisInstanceRecords;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The fleet view shared by replicas: <c>dp:{node_id}</c> (a hash: <c>status</c> as DataplaneStatus
/// protobuf bytes, <c>opened_at</c> and <c>published_at</c> in unix ms, expiring after its lifetime)
/// and <c>dataplanes</c> (a sorted set of node ids, score 0: ordered listing; expired ids leave it
/// when listed). A write of an older stream than the stored one is ignored (Scripts/put_dataplane.lua).
/// </summary>
internal sealed class RedisFleetStore(RedisConnection redis) : IFleetStore
{
    public TimeSpan? OutOfContactFor => redis.Unreachable ? redis.SinceLastAnswer : null;

    public bool HasAnswered => redis.HasAnswered;

    public async ValueTask PublishAsync(FleetEntry entry, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await redis.EvaluateAsync(RedisScripts.PutDataplane,
        [
            redis.KeyPrefix, entry.NodeId, entry.Status.ToByteArray(), ToUnixMilliseconds(entry.StreamOpenedAt), ToUnixMilliseconds(entry.PublishedAt),
            Math.Max(1, (long)lifetime.TotalMilliseconds),
        ], cancellationToken);
    }

    public async ValueTask<IReadOnlyList<FleetEntry>> ListAsync(CancellationToken cancellationToken = default)
    {
        var reply = (RedisResult[])(await redis.EvaluateAsync(RedisScripts.ListDataplanes, [redis.KeyPrefix], cancellationToken))!;
        var entries = new List<FleetEntry>(reply.Length / 3);
        for (var i = 0; i + 2 < reply.Length; i += 3)
        {
            entries.Add(Entry((byte[])reply[i]!, (long)reply[i + 1], (long)reply[i + 2]));
        }
        return entries;
    }

    public async ValueTask<FleetEntry?> GetAsync(string nodeId, CancellationToken cancellationToken = default)
    {
        var fields = await redis.RunAsync(db => db.HashGetAsync(redis.KeyPrefix + "dp:" + nodeId, ["status", "opened_at", "published_at"]), cancellationToken);
        return fields[0].IsNull ? null : Entry((byte[])fields[0]!, (long)fields[1], (long)fields[2]);
    }

    private static FleetEntry Entry(byte[] status, long openedAt, long publishedAt) =>
        new(DataplaneStatus.Parser.ParseFrom(status), FromUnixMilliseconds(openedAt), FromUnixMilliseconds(publishedAt));
}
