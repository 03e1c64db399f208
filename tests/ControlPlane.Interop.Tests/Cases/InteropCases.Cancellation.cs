using System.Diagnostics;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Interop.V1;
using static ControlPlane.Interop.Tests.Cases.InteropMessages;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Ending calls early: cancel_after_begin, cancel_after_first_response, timeout_on_sleeping_server.</summary>
public abstract partial class InteropCases
{
    [Fact]
    public async Task CancelAfterBegin()
    {
        using var channel = await ConnectAsync();
        using var cts = new CancellationTokenSource();
        using var call = channel.AsyncClientStreamingCall(InteropMethods.StreamingInputCall, Call(cancellationToken: cts.Token));
        await cts.CancelAsync();

        await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.Cancelled);
        await AssertChannelUsableAsync(channel);
    }

    [Fact]
    public async Task CancelAfterFirstResponse()
    {
        using var channel = await ConnectAsync();
        using var cts = new CancellationTokenSource();
        using var call = channel.AsyncDuplexStreamingCall(InteropMethods.FullDuplexCall, Call(cancellationToken: cts.Token));
        await call.RequestStream.WriteAsync(OutputRequest([31415], 27182)).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout(), "The stream ended before the first response.");
        AssertZeros(call.ResponseStream.Current.Payload, 31415);

        await cts.CancelAsync();

        await AssertFailsAsync(() => call.ResponseStream.MoveNext(CancellationToken.None), call, StatusCode.Cancelled);
        await AssertChannelUsableAsync(channel);
    }

    [Fact]
    public async Task TimeoutOnSleepingServer()
    {
        using var channel = await ConnectAsync();
        var elapsed = Stopwatch.StartNew();
        using var call = channel.AsyncUnaryCall(
            InteropMethods.UnaryCall, new SimpleRequest { SleepMs = 10_000 }, new CallOptions { Timeout = TimeSpan.FromMilliseconds(500) });

        await AssertFailsAsync(() => call.ResponseAsync, call, StatusCode.DeadlineExceeded);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(5), $"The call took {elapsed.Elapsed.TotalSeconds:0.0} s to fail a 0.5 s deadline.");
        await AssertChannelUsableAsync(channel);
    }
}
