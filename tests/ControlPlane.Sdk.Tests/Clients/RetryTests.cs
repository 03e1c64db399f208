using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Interop.V1;
using ControlPlane.Sdk.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Sdk.Tests.Clients;

/// <summary>
/// Retries follow the protos: a method whose idempotency_level is IDEMPOTENT or NO_SIDE_EFFECTS is
/// retried after UNAVAILABLE, up to MaxAttempts, with one request id for all its attempts; any other
/// method is sent once, whatever the answer.
/// </summary>
public sealed class RetryTests : IAsyncLifetime
{
    private TestControlPlane _host = null!;

    public async ValueTask InitializeAsync() => _host = await TestControlPlane.StartAsync();

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task IdempotentCall_IsRetriedAfterUnavailable_WithOneRequestId()
    {
        using var client = _host.CreateClient();
        _host.Calls.FailNext("Register", 2);

        var response = await client.Registry.RegisterAsync(TypedCallTests.Instance("r1", 9201)).DefaultTimeout();

        Assert.True(response.Created);
        var calls = _host.Calls.Of("Register");
        Assert.Equal([true, true, false], calls.Select(c => c.Failed));
        Assert.Single(calls.Select(c => c.Headers["x-request-id"]).Distinct());
    }

    [Fact]
    public async Task IdempotentCall_GivesUpAfterMaxAttempts()
    {
        using var client = _host.CreateClient(o => o.Retry.MaxAttempts = 3);
        _host.Calls.FailNext("GetTopology", 10);

        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() => client.Registry.GetTopologyAsync(new GetTopologyRequest())).DefaultTimeout();

        Assert.Equal((StatusCode.Unavailable, "backend_unreachable", 3), (ex.StatusCode, ex.ErrorCode, ex.Attempts));
        Assert.Equal(3, _host.Calls.Of("GetTopology").Count);
    }

    [Fact]
    public async Task NonIdempotentCall_IsNotRetriedAfterUnavailable()
    {
        // No controlplane.v1 unary method is non-idempotent, so the interop test service stands in:
        // its UnaryCall declares no idempotency_level.
        var recorder = new CallRecorder();
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = s => s.AddSingleton(recorder),
            ConfigureGrpc = g => g.AddInterceptor<CallRecorder.Interceptor>(),
            Map = app => app.MapGrpcService<InteropTestService>(InteropMethods.TestService),
        });
        var options = new ControlPlaneClientOptions();
        options.Addresses.Add(server.Address);
        using var client = ControlPlaneClient.Create(options);
        recorder.FailNext("UnaryCall", 1);

        var ex = await Assert.ThrowsAsync<ControlPlaneException>(() =>
            client.Invoker.UnaryAsync(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 1 })).DefaultTimeout();

        Assert.Equal((StatusCode.Unavailable, 1), (ex.StatusCode, ex.Attempts));
        Assert.Single(recorder.Of("UnaryCall"));
        // The failure was not sticky: the next call is a new call and succeeds.
        var response = await client.Invoker.UnaryAsync(InteropMethods.UnaryCall, new SimpleRequest { ResponseSize = 1 }).DefaultTimeout();
        Assert.Equal(1, response.Payload.Body.Length);
        Assert.Equal(2, recorder.Of("UnaryCall").Count);
    }

    [Fact]
    public async Task OtherFailures_AreNotRetried_EvenForIdempotentMethods()
    {
        using var client = _host.CreateClient();

        await Assert.ThrowsAsync<ControlPlaneException>(() => client.Registry.HeartbeatAsync(new HeartbeatRequest { InstanceId = "ghost" })).DefaultTimeout();

        Assert.Single(_host.Calls.Of("Heartbeat"));
    }
}
