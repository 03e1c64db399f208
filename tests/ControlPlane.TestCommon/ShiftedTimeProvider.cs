namespace ControlPlane.TestCommon;

/// <summary>
/// The system clock plus an offset a test can move forward: timers and timestamps stay real (a
/// server's debounce and timeouts keep working), while "now" can jump ahead without waiting, e.g.
/// past the end of a stats bucket.
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
