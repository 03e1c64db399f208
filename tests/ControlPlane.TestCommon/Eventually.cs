namespace ControlPlane.TestCommon;

/// <summary>
/// Waits for a condition that no signal announces (another process's state: a Redis reconnect, an
/// expiry pass running on the thread pool), polling within the default test timeout.
/// </summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var deadline = new CancellationTokenSource(TaskTimeoutExtensions.Timeout);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        try
        {
            while (!await condition().WaitAsync(deadline.Token))
            {
                await tick.WaitForNextTickAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out after {TaskTimeoutExtensions.Timeout} waiting for {what}.");
        }
    }
}
