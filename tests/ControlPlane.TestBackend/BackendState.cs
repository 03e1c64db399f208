namespace ControlPlane.TestBackend;

/// <summary>What a test set on this instance at run time: a delay added to every proxied request.</summary>
internal sealed class BackendState
{
    private long _delayTicks;

    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }
}
