namespace ControlPlane.Hosting;

/// <summary>
/// Timers of a process's background work (sweeps, checkpoints, refreshes), which outlive the code
/// that creates them. <see cref="TimeProvider.CreateTimer"/> captures the creator's
/// <see cref="ExecutionContext"/>, so a singleton created on first use inside a request would run its
/// callbacks, for the process's life, in that request's context: its log lines would carry that
/// request's trace and request id. These run in no request's context.
/// </summary>
public static class BackgroundTimers
{
    /// <summary><see cref="TimeProvider.CreateTimer"/> without the caller's execution context.</summary>
    public static ITimer CreateBackgroundTimer(this TimeProvider clock, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(clock);
        using (ExecutionContext.SuppressFlow())
        {
            return clock.CreateTimer(callback, state, dueTime, period);
        }
    }
}
