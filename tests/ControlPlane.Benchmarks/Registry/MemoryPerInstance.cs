using ControlPlane.Api.V1;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Benchmarks.Registry;

/// <summary>What the registry holds per instance, in managed heap bytes, when registered and after heartbeats.</summary>
internal sealed record MemoryPerInstance(int Instances, double Registered, double AfterOneRound, double AfterRounds, int Rounds)
{
    /// <summary>
    /// Registers <paramref name="instances"/> instances through a fresh <see cref="ServiceRegistry"/>
    /// on a fresh <see cref="InMemoryRegistryStore"/>, from requests parsed from their wire bytes (as
    /// the server gets them: no string or metadata object shared between instances), and compares the
    /// heap after forced full compacting collections before, after, and after rounds of heartbeats
    /// for all of them.
    /// </summary>
    public static async Task<MemoryPerInstance> MeasureAsync(int instances, int rounds, CancellationToken ct)
    {
        await WarmUpAsync(ct);
        using var services = Build();
        var registry = services.GetRequiredService<ServiceRegistry>();
        var before = SettledHeap();
        await FillAsync(registry, instances, 0, ct);
        var registered = SettledHeap() - before;
        await BeatAllAsync(registry, instances, ct);
        var afterOne = SettledHeap() - before;
        for (var round = 2; round <= rounds; round++)
        {
            await BeatAllAsync(registry, instances, ct);
        }
        var afterRounds = SettledHeap() - before;
        var counts = await services.GetRequiredService<IRegistryStore>().CountAsync(ct);
        if (counts.Live != instances)
        {
            throw new InvalidOperationException($"The store holds {counts.Live} live instances, not {instances}.");
        }
        GC.KeepAlive(registry);
        return new MemoryPerInstance(instances, (double)registered / instances, (double)afterOne / instances, (double)afterRounds / instances, rounds);
    }

    /// <summary>
    /// The first calls JIT-compile code and fill static caches (regexes, descriptors), which are not
    /// the store's. In a method of its own, so that nothing of it stays reachable from the caller.
    /// </summary>
    private static async Task WarmUpAsync(CancellationToken ct)
    {
        using var warm = Build();
        await FillAsync(warm.GetRequiredService<ServiceRegistry>(), Fleet.BeatSize * 2, 1, ct);
    }

    /// <summary>The registry as the host wires it, without the host (its expiry timer is not started: nothing expires during the measurement).</summary>
    private static ServiceProvider Build() => new ServiceCollection()
        .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
        .AddRegistry(new ConfigurationBuilder().Build())
        .BuildServiceProvider();

    private static async Task FillAsync(ServiceRegistry registry, int instances, int beats, CancellationToken ct)
    {
        for (var n = 0; n < instances; n++)
        {
            await registry.RegisterAsync(Fleet.FromWire(n), ct);
        }
        for (var round = 0; round < beats; round++)
        {
            await BeatAllAsync(registry, instances, ct);
        }
    }

    private static async Task BeatAllAsync(ServiceRegistry registry, int instances, CancellationToken ct)
    {
        for (var first = 0; first < instances; first += Fleet.BeatSize)
        {
            var beat = new HeartbeatStreamRequest { BeatId = (ulong)first };
            for (var n = first; n < Math.Min(instances, first + Fleet.BeatSize); n++)
            {
                beat.InstanceIds.Add(Fleet.InstanceId(n));
            }
            var response = await registry.BeatAsync(beat, ct);
            if (response.Results.Any(r => r.Outcome != HeartbeatOutcome.Renewed))
            {
                throw new InvalidOperationException("A heartbeat of the memory measurement was not renewed.");
            }
        }
    }

    /// <summary>Bytes in use on the managed heap once everything unreachable is collected and the heap compacted.</summary>
    private static long SettledHeap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
