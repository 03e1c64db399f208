namespace ControlPlane.TestCommon;

/// <summary>
/// Waits for a condition that no signal announces (another process's state: a Redis reconnect, an
/// expiry pass running on the thread pool, a node's readiness or the fleet view), by asking again
/// until a deadline, as an orchestrator's readiness probe does.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="condition"/> until true; fails naming <paramref name="what"/> and, when given, what <paramref name="describe"/> says of the current state.</summary>
    public static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null, Func<Task<string>>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? TaskTimeoutExtensions.Timeout;
        using var deadline = new CancellationTokenSource(limit);
        using var tick = new PeriodicTimer(PollInterval);
        try
        {
            while (!await condition().WaitAsync(deadline.Token))
            {
                await tick.WaitForNextTickAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            var state = describe is null ? "" : Environment.NewLine + await describe();
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0} s waiting for {what}.{state}");
        }
    }

    public static Task WaitAsync(string what, Func<bool> condition, TimeSpan? timeout = null) =>
        WaitAsync(what, () => Task.FromResult(condition()), timeout);

    public static Task TrueAsync(Func<Task<bool>> condition, string what) => WaitAsync(what, condition);

    /// <summary>Calls <paramref name="attempt"/> until it returns instead of throwing (a server coming back); the last failure explains a timeout.</summary>
    public static async Task<T> ResultAsync<T>(string what, Func<Task<T>> attempt, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        T result = default!;
        Exception? last = null;
        await WaitAsync(what, async () =>
        {
            try
            {
                result = await attempt();
                return true;
            }
            catch (Exception ex)
            {
                last = ex;
                return false;
            }
        }, timeout, () => Task.FromResult("last failure: " + last?.Message));
        return result;
    }
}
