using ControlPlane.Server.Discovery.Streams;

namespace ControlPlane.Server.Tests.Discovery.Streams;

/// <summary>The stream writer's wake-up: nothing set is lost, repeated sets merge, cancellation ends a wait.</summary>
public sealed class WakeSignalTests
{
    [Fact]
    public async Task ASetBeforeTheWait_CompletesItAtOnce_AndSetsMergeIntoOne()
    {
        var signal = new WakeSignal();
        signal.Set();
        signal.Set();

        Assert.True(signal.WaitAsync(CancellationToken.None).IsCompletedSuccessfully);
        var second = signal.WaitAsync(CancellationToken.None);
        Assert.False(second.IsCompleted);

        signal.Set();
        await second.AsTask().DefaultTimeout();
    }

    [Fact]
    public async Task EveryWaitIsWokenBySetsMadeWhileItWaits_ManyTimesOver()
    {
        var signal = new WakeSignal();
        var woken = 0;
        var waiter = Task.Run(async () =>
        {
            for (var i = 0; i < 1000; i++)
            {
                await signal.WaitAsync(CancellationToken.None);
                Interlocked.Increment(ref woken);
            }
        });
        // Keep setting until the waiter has been woken 1000 times: a lost wake-up would leave it parked and time out.
        var setting = System.Diagnostics.Stopwatch.StartNew();
        while (!waiter.IsCompleted && setting.Elapsed < TaskTimeoutExtensions.Timeout)
        {
            signal.Set();
            await Task.Yield();
        }
        await waiter.WaitAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(1000, woken);
    }

    [Fact]
    public async Task CancellingTheToken_EndsTheWait_AndTheSignalStillWorks()
    {
        var signal = new WakeSignal();
        using var cancel = new CancellationTokenSource();
        var wait = signal.WaitAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.DefaultTimeout());

        var next = signal.WaitAsync(CancellationToken.None);
        signal.Set();
        await next.AsTask().DefaultTimeout();
    }

    [Fact]
    public async Task AnAlreadyCancelledToken_EndsTheWaitAtOnce()
    {
        var signal = new WakeSignal();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => signal.WaitAsync(new CancellationToken(true)).AsTask().DefaultTimeout());
    }

    [Fact]
    public void ASecondWaiter_IsRefused()
    {
        var signal = new WakeSignal();
        _ = signal.WaitAsync(CancellationToken.None);
        Assert.Throws<InvalidOperationException>(() => signal.WaitAsync(CancellationToken.None));
    }
}
