using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// Nodes given the same control-plane list spread over it: each starts at an address drawn from its
/// random source (one per process, injectable) and fails over in list order from there, wrapping
/// around; with StartAtRandomControlPlane=false it starts at the first.
/// </summary>
public sealed class StartAddressTests : IAsyncLifetime
{
    private ScriptedControlPlane _first = null!;
    private ScriptedControlPlane _second = null!;

    public async ValueTask InitializeAsync()
    {
        _first = await ScriptedControlPlane.StartAsync();
        _second = await ScriptedControlPlane.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    [Fact]
    public async Task NodeStartsWhereItsRandomSourcePoints_AndRotatesOnFromThere()
    {
        await using var node = await StartNodeAsync(new FixedRandom(0.75)); // 0.75 × 2 addresses: the second

        var stream = await _second.NextStreamAsync();
        stream.End(); // unanswered: the next address, wrapping around to the first

        await _first.NextStreamAsync();
    }

    [Fact]
    public async Task WithoutRandomStart_NodeStartsAtTheFirst()
    {
        await using var node = await StartNodeAsync(new FixedRandom(0.75), "--Dataplane:StartAtRandomControlPlane=false");

        await _first.NextStreamAsync();
    }

    private Task<DataplaneFixture> StartNodeAsync(Random random, params string[] args) => DataplaneFixture.StartAsync(
        builder => builder.Services.AddSingleton(random),
        [
            $"--Dataplane:ControlPlanes:0={_first.Address}", $"--Dataplane:ControlPlanes:1={_second.Address}", "--Dataplane:NodeId=node-start",
            "--Dataplane:FirstResponseTimeout=00:10:00", .. args]); // no move on for silence: only the start address is tested
}
