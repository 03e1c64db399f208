namespace ControlPlane.Sdk.Registration;

/// <summary>What one heartbeat round over the stream did (raised by <see cref="InstanceRegistrar.RoundCompleted"/>).</summary>
public sealed class HeartbeatRound : EventArgs
{
    internal HeartbeatRound(int messages, int renewed, int notFound, int reregistered, int invalid, Uri address, DateTimeOffset completedAt)
    {
        Messages = messages;
        Renewed = renewed;
        NotFound = notFound;
        Reregistered = reregistered;
        Invalid = invalid;
        Address = address;
        CompletedAt = completedAt;
    }

    /// <summary>Heartbeat messages sent (each with up to <see cref="InstanceRegistrarOptions.MaxIdsPerBeat"/> ids).</summary>
    public int Messages { get; }

    /// <summary>Instances whose lease was renewed.</summary>
    public int Renewed { get; }

    /// <summary>Instances the control plane did not know (expired or forgotten).</summary>
    public int NotFound { get; }

    /// <summary>Of those, instances registered again in this round.</summary>
    public int Reregistered { get; }

    /// <summary>Ids the control plane called malformed; they are no longer kept alive.</summary>
    public int Invalid { get; }

    /// <summary>The control plane the stream is open to.</summary>
    public Uri Address { get; }

    /// <summary>When the round ended.</summary>
    public DateTimeOffset CompletedAt { get; }
}
