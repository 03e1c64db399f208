using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Discovery;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// The last-known-good writer on a virtual clock: a write of the resources waits four times as long
/// as the last one took, at most LastKnownGoodWriteInterval (a position alone does not wait, nor the
/// first after a quiet interval), a failed write is retried without another change, later after each failure in a
/// row, and stopping writes what is pending at once.
/// </summary>
public sealed class LastKnownGoodWriterTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-lkg-writer-").FullName;
    private readonly ManualTimeProvider _time = new();
    private readonly RecordingStore _store;
    private volatile IReadOnlyList<Resource>? _published;

    public LastKnownGoodWriterTests() => _store = new RecordingStore(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task AWriteOfTheResources_WaitsOutTheInterval_APositionAloneDoesNot_NorTheFirstAfterAQuietInterval()
    {
        using var writer = Start();
        var start = _time.GetUtcNow();

        // A slow write (a large file): four times as long would pass the interval, which caps the wait.
        await WriteTakingAsync(writer, "v1", "p1", TimeSpan.FromMilliseconds(300));
        start += TimeSpan.FromMilliseconds(300);

        Publish("v2");
        writer.ResourcesChanged("p2");
        await WaitingAsync();
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, _time.ActiveTimers); // still waiting: nothing written
        Assert.False(_store.Writes.Reader.TryPeek(out _));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var second = await _store.NextWriteAsync();
        Assert.Equal(["img=v2"], second.Versions);
        Assert.Equal("p2", second.Position);
        await Eventually.WaitAsync("the second write to end", () => writer.WrittenAt == start + Interval);

        // Only the position moved: small, written at once.
        writer.SameResources("p3");
        var position = await _store.NextWriteAsync();
        Assert.Null(position.Resources);
        Assert.Equal("p3", position.Position);

        // A change after a quiet interval is written at once.
        _time.Advance(TimeSpan.FromSeconds(5));
        Publish("v3");
        writer.ResourcesChanged("p4");
        Assert.Equal(["img=v3"], (await _store.NextWriteAsync()).Versions);
        await Eventually.WaitAsync("the newest set on disk", () => Load() == "img=v3@p4");
    }

    [Fact]
    public async Task AfterAQuickWrite_TheNextWaitsFourTimesAsLongAsItTook_NotTheWholeInterval()
    {
        using var writer = Start();
        await WriteTakingAsync(writer, "v1", "p1", TimeSpan.FromMilliseconds(20));

        Publish("v2");
        writer.ResourcesChanged("p2");
        await WaitingAsync();
        _time.Advance(TimeSpan.FromMilliseconds(79));
        Assert.False(_store.Writes.Reader.TryPeek(out _));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["img=v2"], (await _store.NextWriteAsync()).Versions);
        await Eventually.WaitAsync("the newest set on disk", () => Load() == "img=v2@p2");
    }

    [Fact]
    public async Task AFailedWrite_IsCounted_AndRetriedWithoutAnotherChange_LaterAfterEachFailureInARow()
    {
        using var writer = Start();
        _store.Fail(new IOException("No space left on device"));
        Publish("v1");
        writer.ResourcesChanged("p1");
        await _store.NextWriteAsync();
        await Eventually.WaitAsync("the first failure", () => writer.Failures == 1);

        await WaitingAsync();
        _time.Advance(Interval);
        await _store.NextWriteAsync();
        await Eventually.WaitAsync("the second failure", () => writer.Failures == 2);

        // Twice the interval after a second failure in a row.
        await WaitingAsync();
        _time.Advance(Interval);
        Assert.Equal(1, _time.ActiveTimers);
        Assert.False(_store.Writes.Reader.TryPeek(out _));
        _store.Fail(null); // the disk has room again
        _time.Advance(Interval);
        Assert.Equal(["img=v1"], (await _store.NextWriteAsync()).Versions);
        await Eventually.WaitAsync("the retry to succeed", () => writer.WrittenAt is not null);
        Assert.Equal(2, writer.Failures);
        Assert.Equal("img=v1@p1", Load());
    }

    [Fact]
    public async Task Stopping_WritesThePendingChange_WithoutWaitingOutTheInterval()
    {
        using var writer = Start();
        await WriteTakingAsync(writer, "v1", "p1", TimeSpan.FromMilliseconds(300));
        Publish("v2");
        writer.ResourcesChanged("p2");
        await WaitingAsync(); // on a clock that does not move

        await writer.StopAsync(CancellationToken.None).DefaultTimeout();

        Assert.Equal("img=v2@p2", Load());
    }

    private LastKnownGoodWriter Start() => new(_store, () => _published, Interval, _time, NullLogger.Instance);

    /// <summary>Publishes <paramref name="version"/> and has its write take <paramref name="took"/> of the clock's time, until it ends.</summary>
    private async Task WriteTakingAsync(LastKnownGoodWriter writer, string version, string position, TimeSpan took)
    {
        _store.Hold();
        Publish(version);
        writer.ResourcesChanged(position);
        Assert.Equal([$"img={version}"], (await _store.NextWriteAsync()).Versions); // at once: nothing written before
        var ends = _time.GetUtcNow() + took;
        _time.Advance(took);
        _store.Release();
        await Eventually.WaitAsync("the write to end", () => writer.WrittenAt == ends);
    }

    private void Publish(string version) => _published = [ScriptedControlPlane.EndpointSet("img", version, ("i1", 8080))];

    /// <summary>Until the writer waits on its timer (the only one on this clock).</summary>
    private Task WaitingAsync() => Eventually.WaitAsync("the writer to wait for its time", () => _time.ActiveTimers == 1);

    /// <summary>What the files hold: <c>name=version</c>, then <c>@position</c>.</summary>
    private string Load()
    {
        var store = new LastKnownGoodStore(_directory);
        return string.Join(",", store.Load()?.Select(r => $"{r.Name}={r.Version}") ?? []) + "@" + store.LoadPosition();
    }
}
