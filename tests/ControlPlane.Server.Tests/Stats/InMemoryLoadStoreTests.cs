using ControlPlane.Server.Stats;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>The embedded store's memory of epochs: bounded per node and in time, and what a forgotten epoch means.</summary>
public sealed class InMemoryLoadStoreTests
{
    private readonly ManualTimeProvider _clock = new();
    private readonly StatsOptions _options = new() { MaxEpochsPerNode = 2, EpochRetention = TimeSpan.FromHours(1) };
    private readonly LoadBatch _batch = LoadReportValidator.Validate(Reports.Report("e", 1, Reports.Image("img.a", 1)), new StatsOptions());

    [Fact]
    public async Task AnEpochIdleLongerThanTheRetention_IsForgotten_SoItsNextReportIsAGapFromZero()
    {
        var store = new InMemoryLoadStore(_options, _clock);
        await ApplyAsync(store, "node-1", "e1", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromMinutes(59));
        await ApplyAsync(store, "node-1", "e1", 2, ReportDisposition.Accepted, 2); // in use: remembered
        _clock.Advance(TimeSpan.FromMinutes(61));
        await ApplyAsync(store, "node-1", "other", 1, ReportDisposition.Accepted, 1); // any call sweeps

        await ApplyAsync(store, "node-1", "e1", 3, ReportDisposition.Gap, 0);
    }

    [Fact]
    public async Task ANodeKeepsAtMostItsEpochLimit_TheLeastRecentlyUsedGoesFirst()
    {
        var store = new InMemoryLoadStore(_options, _clock);
        await ApplyAsync(store, "node-1", "a", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await ApplyAsync(store, "node-1", "b", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await ApplyAsync(store, "node-1", "a", 1, ReportDisposition.Duplicate, 1); // "a" used again
        _clock.Advance(TimeSpan.FromSeconds(1));
        await ApplyAsync(store, "node-1", "c", 1, ReportDisposition.Accepted, 1); // evicts "b"
        await ApplyAsync(store, "node-2", "x", 1, ReportDisposition.Accepted, 1); // other nodes have their own limit

        await ApplyAsync(store, "node-1", "a", 2, ReportDisposition.Accepted, 2);
        await ApplyAsync(store, "node-1", "b", 2, ReportDisposition.Gap, 0);
    }

    private async Task ApplyAsync(InMemoryLoadStore store, string node, string epoch, ulong sequence, ReportDisposition expected, ulong lastAccepted)
    {
        var result = await store.ApplyAsync(new ReportKey(node, epoch), sequence, _batch, _clock.GetUtcNow()).DefaultTimeout();
        Assert.Equal(new ReportResult(expected, lastAccepted), result);
    }
}
