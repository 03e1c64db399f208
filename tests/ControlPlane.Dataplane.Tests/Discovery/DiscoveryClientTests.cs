using System.Net;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Discovery;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A dataplane node configured by a real control plane over the delta stream: registrations reach
/// the proxy, removals too, the node keeps serving when the control plane goes away, and a node
/// restarted meanwhile serves its last-known-good configuration.
/// </summary>
public sealed class DiscoveryClientTests : IAsyncLifetime
{
    private readonly string _stateDirectory = Directory.CreateTempSubdirectory("dp-discovery-").FullName;
    private ControlPlaneProcess _controlPlane = null!;
    private TestBackend _backend = null!;

    public async ValueTask InitializeAsync()
    {
        _controlPlane = await ControlPlaneProcess.StartAsync();
        _backend = await TestBackend.StartAsync("b1");
    }

    public async ValueTask DisposeAsync()
    {
        await _controlPlane.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_stateDirectory, recursive: true);
    }

    [Fact]
    public async Task RegisteredInstance_IsRouted_AndDeregistered_IsRemoved()
    {
        await using var node = await StartNodeAsync();
        var client = node.Services.GetRequiredService<DiscoveryClient>();
        await WaitForAsync(node.Config, c => c.IsLoaded); // the first answer, even with nothing registered
        Assert.Equal(_controlPlane.Grpc.ToString().TrimEnd('/'), client.ConnectedControlPlane?.TrimEnd('/'));

        await _controlPlane.RegisterAsync("img.a", "i1", _backend);
        await WaitForAsync(node.Config, c => c.Images.ContainsKey("img.a"));
        using var http = node.CreateClient();
        using (var response = await http.GetAsync("/g/img.a/hello").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("/hello", (await TestBackend.Echo.ReadAsync(response).DefaultTimeout()).Path);
        }
        await Eventually.WaitAsync("the last-known-good file", () => File.Exists(client.LastKnownGoodPath)); // written off the stream

        await _controlPlane.DeregisterAsync("i1");
        await WaitForAsync(node.Config, c => !c.Images.ContainsKey("img.a"));
        using (var response = await http.GetAsync("/g/img.a/hello").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        Assert.Equal(0, client.Nacks);
        Assert.True(client.Acks >= 3);
    }

    [Fact]
    public async Task ControlPlaneStopped_NodeKeepsServing_AndRestartedNodeServesFromLastKnownGood()
    {
        await _controlPlane.RegisterAsync("img.b", "i1", _backend);
        await using (var node = await StartNodeAsync())
        {
            await WaitForAsync(node.Config, c => c.Images.ContainsKey("img.b"));
            await _controlPlane.StopAsync();

            using var http = node.CreateClient();
            for (var i = 0; i < 5; i++)
            {
                using var response = await http.GetAsync("/g/img.b/still").DefaultTimeout();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        // What the configuration's store position was (replicas on Redis stamp it; this embedded
        // control plane stamps none): saved beside it, and announced by the restarted node.
        const string Position = "1795349467.2143:42";
        await File.WriteAllTextAsync(Path.Combine(_stateDirectory, LastKnownGoodStore.PositionFileName), Position);

        // Restarted during the outage: nothing answers, the node waits LastKnownGoodAfter (virtual
        // time), then serves what it had.
        var time = new ManualTimeProvider();
        await using var restarted = await StartNodeAsync(time);
        using var client = restarted.CreateClient();
        using (var response = await client.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
        time.Advance(TimeSpan.FromSeconds(3));
        await WaitForAsync(restarted.Config, c => c.IsLoaded);
        using (var response = await client.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var response = await client.GetAsync("/g/img.b/from-lkg").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("/from-lkg", (await TestBackend.Echo.ReadAsync(response).DefaultTimeout()).Path);
        }
        Assert.Null(restarted.Services.GetRequiredService<DiscoveryClient>().ConnectedControlPlane);
        Assert.Equal(Position, ((ControlPlane.Sdk.Discovery.IDeltaResourceHandler)restarted.Services.GetRequiredService<DiscoveryClient>()).StorePosition);
    }

    [Fact]
    public async Task UnreachableFirstControlPlane_NodeFailsOverToTheNext()
    {
        await _controlPlane.RegisterAsync("img.c", "i1", _backend);
        await using var node = await DataplaneFixture.StartAsync(
            builder => builder.Services.AddSingleton<Random>(new ZeroRandom()), // no backoff wait
            "--Dataplane:ControlPlanes:0=http://127.0.0.1:1",
            $"--Dataplane:ControlPlanes:1={_controlPlane.Grpc}",
            "--Dataplane:NodeId=node-2");

        await WaitForAsync(node.Config, c => c.Images.ContainsKey("img.c"));

        var client = node.Services.GetRequiredService<DiscoveryClient>();
        Assert.Equal(_controlPlane.Grpc.ToString().TrimEnd('/'), client.ConnectedControlPlane?.TrimEnd('/'));
        Assert.Contains(node.Logs.Records, r => r.EventId.Id == 2502 && r.Message.Contains("127.0.0.1:1", StringComparison.Ordinal));
    }

    private sealed class ZeroRandom : Random
    {
        public override double NextDouble() => 0;
    }

    private Task<DataplaneFixture> StartNodeAsync(TimeProvider? time = null) => DataplaneFixture.StartAsync(
        builder =>
        {
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        },
        $"--Dataplane:ControlPlanes:0={_controlPlane.Grpc}",
        "--Dataplane:NodeId=node-1",
        "--Dataplane:Zone=eu-central-1a",
        $"--Dataplane:StateDirectory={_stateDirectory}",
        "--Dataplane:LastKnownGoodAfter=00:00:03");

    /// <summary>Waits, by the config's change token (no polling), until <paramref name="condition"/> holds.</summary>
    private static async Task WaitForAsync(IProxyConfigProvider provider, Func<ProxyConfig, bool> condition)
    {
        while (true)
        {
            var current = provider.Current;
            if (condition(current))
            {
                return;
            }
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (current.ChangeToken.RegisterChangeCallback(_ => changed.TrySetResult(), null))
            {
                await changed.Task.DefaultTimeout();
            }
        }
    }
}
