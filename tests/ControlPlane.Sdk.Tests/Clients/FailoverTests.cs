using ControlPlane.Api.V1;
using ControlPlane.Sdk.Tests.Infrastructure;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>Several control-plane addresses: a dead one is left on UNAVAILABLE and every later call goes to the live one.</summary>
public sealed class FailoverTests : IAsyncLifetime
{
    // Nothing listens on port 1: connecting is refused at once (UNAVAILABLE).
    private static readonly Uri Dead = new("http://127.0.0.1:1");
    private TestControlPlane _host = null!;

    public async ValueTask InitializeAsync() => _host = await TestControlPlane.StartAsync();

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task DeadFirstAddress_IdempotentCallFailsOverToTheLiveOne_AndStaysThere()
    {
        using var client = CreateClient();
        Assert.Equal(Dead, client.Invoker.CurrentAddress);

        var registered = await client.Registry.RegisterAsync(TypedCallTests.Instance("f1", 9301)).DefaultTimeout();

        Assert.True(registered.Created);
        Assert.Equal(_host.Grpc, client.Invoker.CurrentAddress);
        for (var i = 0; i < 3; i++)
        {
            await client.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "f1" }).DefaultTimeout();
        }
        // One Register (the refused attempt never reached a server) and the three reads.
        Assert.Single(_host.Calls.Of("Register"));
        Assert.Equal(3, _host.Calls.Of("GetInstance").Count);
    }

    [Fact]
    public async Task AllAddressesDead_FailsWithBackendUnreachable()
    {
        var options = new ControlPlaneClientOptions { Retry = { InitialBackoff = TimeSpan.FromMilliseconds(1) } };
        options.Addresses.Add(Dead);
        options.Addresses.Add(new Uri("http://127.0.0.1:2"));
        using var client = ControlPlaneClient.Create(options);

        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => client.Registry.GetTopologyAsync(new GetTopologyRequest())).DefaultTimeout();

        Assert.Equal("backend_unreachable", ex.ErrorCode);
        Assert.Equal(3, ex.Attempts);
    }

    private ControlPlaneClient CreateClient()
    {
        var options = new ControlPlaneClientOptions { Retry = { InitialBackoff = TimeSpan.FromMilliseconds(1) } };
        options.Addresses.Add(Dead);
        options.Addresses.Add(_host.Grpc);
        return ControlPlaneClient.Create(options);
    }
}
