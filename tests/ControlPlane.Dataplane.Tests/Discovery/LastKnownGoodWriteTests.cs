using ControlPlane.Dataplane.Discovery;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// The last-known-good file is written off the discovery stream: a node ACKs while its write is
/// under way (at 100,000 images one takes 170-300 ms), a burst of changes during a write is written
/// once more, with the newest, and a node stopped right after a change has written it first.
/// </summary>
public sealed class LastKnownGoodWriteTests : IAsyncLifetime
{
    private static readonly string E = DiscoveryState.EndpointSetType;
    private readonly string _directory = Directory.CreateTempSubdirectory("dp-lkg-writes-").FullName;
    private ScriptedControlPlane _controlPlane = null!;

    public async ValueTask InitializeAsync() => _controlPlane = await ScriptedControlPlane.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task TheNodeAcks_WhileTheWriteIsUnderWay()
    {
        var store = new RecordingStore(_directory);
        await using var node = await StartNodeAsync(store, "--Dataplane:LastKnownGoodWriteInterval=00:00:00");
        var stream = await _controlPlane.NextStreamAsync();
        store.Hold(); // a disk that does not answer

        var ack = await stream.SendAsync(E, "e1", [Endpoints("v1")]);

        Assert.Null(ack.ErrorDetail);
        Assert.Equal(["img=v1"], (await store.NextWriteAsync()).Versions); // under way ...
        Assert.False(File.Exists(store.Path)); // ... and held: the ACK did not wait for it
        Assert.Null((await stream.SendAsync(E, "e2", [Endpoints("v2")])).ErrorDetail);
        Assert.Equal("v2", node.Config.Current.Images["img"].EndpointsVersion); // served meanwhile

        store.Release();
        await Eventually.WaitAsync("the newest set on disk", () => Load() == "img=v2");
    }

    [Fact]
    public async Task ABurstOfChangesDuringAWrite_IsWrittenOnceMore_WithTheNewest()
    {
        var store = new RecordingStore(_directory);
        await using var node = await StartNodeAsync(store, "--Dataplane:LastKnownGoodWriteInterval=00:00:00");
        var stream = await _controlPlane.NextStreamAsync();
        store.Hold();
        await stream.SendAsync(E, "e1", [Endpoints("v1")]);
        Assert.Equal(["img=v1"], (await store.NextWriteAsync()).Versions);

        for (var i = 2; i <= 6; i++)
        {
            Assert.Null((await stream.SendAsync(E, $"e{i}", [Endpoints($"v{i}")])).ErrorDetail);
        }
        store.Release();

        Assert.Equal(["img=v6"], (await store.NextWriteAsync()).Versions); // not v2, v3 ... one by one
        await Eventually.WaitAsync("the newest set on disk", () => Load() == "img=v6");
        Assert.False(store.Writes.Reader.TryRead(out var third), $"a third write: {third}");
    }

    [Fact]
    public async Task StoppingTheNode_WritesThePendingChange_SoARestartServesIt()
    {
        var time = new ManualTimeProvider(); // the interval never passes: only stopping writes the change
        var store = new RecordingStore(_directory);
        var node = await StartNodeAsync(store, time);
        try
        {
            var client = node.Services.GetRequiredService<DiscoveryClient>();
            var stream = await _controlPlane.NextStreamAsync();
            await stream.SendAsync(E, "e1", [Endpoints("v1")]);
            Assert.Equal(["img=v1"], (await store.NextWriteAsync()).Versions);
            await Eventually.WaitAsync("the first write to end", () => client.LastKnownGoodWrittenAt is not null);
            Assert.Null((await stream.SendAsync(E, "e2", [Endpoints("v2")])).ErrorDetail);

            await node.StopAsync();

            Assert.Equal(["img=v2"], (await store.NextWriteAsync()).Versions);
            Assert.Equal("img=v2", Load());
        }
        finally
        {
            await node.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("01:00:01")]
    public void AnIntervalOutOfRange_StopsTheNodeAtStart(string interval)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => DataplaneHost.Build(
            ["--Dataplane:ControlPlanes:0=http://127.0.0.1:1", $"--Dataplane:LastKnownGoodWriteInterval={interval}"]));
        Assert.Contains("Dataplane:LastKnownGoodWriteInterval", ex.Message, StringComparison.Ordinal);
    }

    private static Api.V1.Resource Endpoints(string version) => ScriptedControlPlane.EndpointSet("img", version, ("i1", 8080));

    private Task<DataplaneFixture> StartNodeAsync(RecordingStore store, params string[] args) => StartNodeAsync(store, null, args);

    private Task<DataplaneFixture> StartNodeAsync(RecordingStore store, TimeProvider? time, params string[] args) => DataplaneFixture.StartAsync(
        builder =>
        {
            store.UseIn(builder);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        },
        [$"--Dataplane:ControlPlanes:0={_controlPlane.Address}", "--Dataplane:NodeId=node-lkg-writes", $"--Dataplane:StateDirectory={_directory}",
            "--Dataplane:InitialFetchTimeout=00:00:00", .. args]);

    /// <summary>What the file holds, <c>name=version</c>; empty when there is none.</summary>
    private string Load() => string.Join(",", new LastKnownGoodStore(_directory).Load()?.Select(r => $"{r.Name}={r.Version}") ?? []);
}
