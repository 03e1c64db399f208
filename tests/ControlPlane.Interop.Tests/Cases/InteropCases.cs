using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.Tests.Infrastructure;
using ControlPlane.Interop.V1;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>
/// The interop cases of tests/interop/python/interop_client.py, written with our
/// <see cref="GrpcChannel"/>. Each subclass points them at one server: python grpcio's
/// (<see cref="PythonServerCases"/>) or our own (<see cref="OurServerCases"/>), so every case runs
/// against both. The cases are split by area over the partial files InteropCases.*.cs.
/// </summary>
public abstract partial class InteropCases
{
    /// <summary>Every call gets a deadline below the await guard, so a stuck call reports its status.</summary>
    protected static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(20);

    /// <summary>The server's address (h2c); checks the server's prerequisites first.</summary>
    protected abstract Task<Uri> GetAddressAsync();

    /// <summary>A fresh channel per case, so one case cannot leak into the next.</summary>
    protected async Task<GrpcChannel> ConnectAsync(GrpcChannelOptions? options = null) =>
        GrpcChannel.ForAddress(await GetAddressAsync(), options);

    /// <summary>A fresh channel whose HTTP/2 requests are recorded by the returned <see cref="WireTap"/>.</summary>
    protected async Task<(GrpcChannel Channel, WireTap Tap)> ConnectTappedAsync(GrpcChannelOptions? options = null)
    {
        var channel = WireTap.CreateChannel(await GetAddressAsync(), options ?? new GrpcChannelOptions(), out var tap);
        return (channel, tap);
    }

    protected static CallOptions Call(Metadata? headers = null, CancellationToken cancellationToken = default) =>
        new() { Headers = headers, Timeout = CallDeadline, CancellationToken = cancellationToken };

    /// <summary>Proves the channel still works after a failed or cancelled call.</summary>
    protected static async Task AssertChannelUsableAsync(GrpcChannel channel)
    {
        using var call = channel.AsyncUnaryCall(InteropMethods.EmptyCall, new Empty(), Call());
        Assert.Equal(new Empty(), await call.ResponseAsync.DefaultTimeout());
    }

    /// <summary>Awaits a call that must fail, and checks that its exception and its status agree.</summary>
    protected static async Task<RpcException> AssertFailsAsync(Func<Task> call, ICallState state, StatusCode expected)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => call().DefaultTimeout());
        Assert.True(expected == ex.StatusCode, $"Expected {expected}, got {ex.Status}");
        Assert.Equal(ex.Status, state.GetStatus());
        return ex;
    }
}
