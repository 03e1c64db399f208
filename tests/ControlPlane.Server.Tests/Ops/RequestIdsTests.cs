using ControlPlane.Hosting;

namespace ControlPlane.Server.Tests.Ops;

public sealed class RequestIdsTests
{
    [Fact]
    public async Task NewIds_AreDistinctHex_AcrossThreadsAndBufferRefills()
    {
        // 1,000 per thread: each thread refills its random buffer (256 ids) several times.
        var perThread = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 1000).Select(_ => RequestIds.New()).ToArray()))).DefaultTimeout();

        var all = perThread.SelectMany(ids => ids).ToArray();
        Assert.All(all, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(all.Length, all.Distinct(StringComparer.Ordinal).Count());
    }
}
