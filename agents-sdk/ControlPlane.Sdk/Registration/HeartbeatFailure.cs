namespace ControlPlane.Sdk.Registration;

/// <summary>A heartbeat round that failed (raised by <see cref="InstanceRegistrar.RoundFailed"/>): no lease was renewed by it.</summary>
public sealed class HeartbeatFailure : EventArgs
{
    internal HeartbeatFailure(Uri address, string reason, int consecutiveFailures, int instances, TimeSpan retryIn, DateTimeOffset failedAt)
    {
        Address = address;
        Reason = reason;
        ConsecutiveFailures = consecutiveFailures;
        Instances = instances;
        RetryIn = retryIn;
        FailedAt = failedAt;
    }

    /// <summary>The control plane the stream was open (or opening) to.</summary>
    public Uri Address { get; }

    /// <summary>Why it failed (status code and detail).</summary>
    public string Reason { get; }

    /// <summary>Failed attempts at the beat now due, this one included (1 for the first).</summary>
    public int ConsecutiveFailures { get; }

    /// <summary>Instances whose leases this round should have renewed.</summary>
    public int Instances { get; }

    /// <summary>The delay before the next attempt.</summary>
    public TimeSpan RetryIn { get; }

    /// <summary>When the round failed.</summary>
    public DateTimeOffset FailedAt { get; }
}
