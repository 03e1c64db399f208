namespace ControlPlane.System.Tests.Infrastructure;

/// <summary>
/// Waits for a condition another process makes true, by asking it again (a probe, as an
/// orchestrator's readiness check does), until a deadline. Processes send no signals to a test;
/// what they expose (readiness, the fleet view, metrics) is what a test can watch.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="condition"/> until true; fails naming <paramref name="what"/> and, when given, what <paramref name="describe"/> says of the current state.</summary>
    public static async Task WaitAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null, Func<Task<string>>? describe = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                var state = describe is null ? "" : Environment.NewLine + await describe();
                throw new TimeoutException($"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0} s waiting for {what}.{state}");
            }
            await Task.Delay(PollInterval);
        }
    }

    public static Task WaitAsync(string what, Func<bool> condition, TimeSpan? timeout = null) =>
        WaitAsync(what, () => Task.FromResult(condition()), timeout);
}
