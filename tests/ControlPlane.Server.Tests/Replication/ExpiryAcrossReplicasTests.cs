using ControlPlane.Api.V1;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Expiry with several replicas on one store: every replica runs expiry passes and they race, yet
/// each instance expires (and is removed) once and is reported by exactly one replica; and
/// self-preservation decides on the fleet's numbers, whichever replica expired what.
/// </summary>
public sealed class ExpiryAcrossReplicasTests
{
    private static async Task<string> StatusAsync(Replica replica, string id) =>
        (await replica.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = id }).DefaultTimeout()).Instance.Status;

    private static async Task<bool> AllAsync(Replica replica, IEnumerable<string> ids, string status)
    {
        foreach (var id in ids)
        {
            if (await StatusAsync(replica, id) != status)
            {
                return false;
            }
        }
        return true;
    }

    [Fact]
    public async Task ThreeReplicasRacing_ExpireAndRemoveEachInstanceOnce_AndOneOfThemReportsIt()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 3, clock);
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            // Two through each replica: each one's timer is armed for the same deadline.
            var id = "i" + i;
            await set[i % 3].RegisterAsync(id, "img.a", 8080 + i, ttl: 5);
            ids.Add(id);
        }

        // The deadline, and the expiry lag after it (renewals a replica holds in memory reach Redis within it).
        clock.Advance(TimeSpan.FromSeconds(5) + RedisStoreOptions.DefaultExpiryLag);
        // A replica logs an expiry just after its script returned: wait for the logs, then for one
        // more complete pass on every replica, so that a second report of any of them would show.
        await set.WaitFiringTimersAsync("six expiries logged", () => ExpiryLogs(set, 3002).Count() >= 6);
        await PassOnEveryReplicaAsync(set);

        // Each instance's expiry was logged once, by one replica, and counted once across them.
        Assert.Equal(ids, ExpiryLogs(set, 3002).Select(e => e.GetProperty("InstanceId").GetString()).Order(StringComparer.Ordinal));
        Assert.True(await AllAsync(set[0], ids, "expired"));
        Assert.Equal(6, await SumOfAsync(set, "controlplane_registry_expirations_total"));

        // Removal after the retention: once too.
        clock.Advance(TimeSpan.FromSeconds(61));
        await set.WaitFiringTimersAsync("six removals logged", () => ExpiryLogs(set, 3003).Sum(e => e.GetProperty("Count").GetInt32()) >= 6);
        await PassOnEveryReplicaAsync(set);
        Assert.Equal(6, ExpiryLogs(set, 3003).Sum(e => e.GetProperty("Count").GetInt32()));
        Assert.Empty((await set[0].Registry.ListAsync(new ListServicesRequest()).DefaultTimeout()).Instances);
        Assert.Equal(6, await SumOfAsync(set, "controlplane_registry_removals_total{reason=\"retention\"}"));
    }

    private static IEnumerable<System.Text.Json.JsonElement> ExpiryLogs(ReplicaSet set, int eventId) => set.Replicas.SelectMany(r => r.LogsOf(eventId));

    /// <summary>Runs a pass on every replica now and waits until each has completed one (after any pass already running).</summary>
    private static async Task PassOnEveryReplicaAsync(ReplicaSet set)
    {
        var before = set.Replicas.Select(r => r.Expiry.Passes).ToArray();
        await Task.WhenAll(set.Replicas.Select(r => r.Expiry.RunAsync())).DefaultTimeout();
        await set.WaitFiringTimersAsync("a complete pass on every replica", () => set.Replicas.Select((r, i) => r.Expiry.Passes > before[i]).All(x => x));
    }

    [Fact]
    public async Task SelfPreservation_CountsExpiriesByEveryReplica()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock);
        var (a, b) = (set[0], set[1]);
        var ids = Enumerable.Range(0, 20).Select(i => "i" + i).ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            await a.RegisterAsync(ids[i], "img.a", 8100 + i, ttl: 30);
        }

        // i0 and i1 go silent: 2 of 20 (10%) is a normal expiry, carried out by either replica.
        clock.Advance(TimeSpan.FromSeconds(20));
        await a.Registry.BeatAsync(Beat(ids[2..])).DefaultTimeout();
        clock.Advance(TimeSpan.FromSeconds(10) + RedisStoreOptions.DefaultExpiryLag);
        await set.WaitFiringTimersAsync("i0 and i1 to expire", () => AllAsync(a, ids[..2], "expired"));

        // Then i2 and i3: with the 2 expired a moment ago, 4 of 20 within the window (20% > 15%).
        // Each replica sees the fleet's numbers, so neither expires them, whichever expired i0 and i1.
        await a.Registry.BeatAsync(Beat(ids[4..])).DefaultTimeout();
        clock.Advance(TimeSpan.FromSeconds(20));
        await set.WaitFiringTimersAsync("both replicas to engage self-preservation", () => a.Registry.SelfPreservationEngaged && b.Registry.SelfPreservationEngaged);
        Assert.Equal(("healthy", "healthy"), (await StatusAsync(b, "i2"), await StatusAsync(b, "i3")));
        Assert.Equal(2, set.Replicas.SelectMany(r => r.LogsOf(3002)).Count());
    }

    private static HeartbeatStreamRequest Beat(string[] ids)
    {
        var beat = new HeartbeatStreamRequest { BeatId = 1 };
        beat.InstanceIds.AddRange(ids);
        return beat;
    }

    private static async Task<long> SumOfAsync(ReplicaSet set, string sample)
    {
        long sum = 0;
        foreach (var replica in set.Replicas)
        {
            var line = (await replica.MetricsAsync()).Split('\n').FirstOrDefault(l => l.StartsWith(sample + " ", StringComparison.Ordinal));
            sum += line is null ? 0 : long.Parse(line[(sample.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
