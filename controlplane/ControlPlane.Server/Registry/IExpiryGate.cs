namespace ControlPlane.Server.Registry;

/// <summary>
/// Asked by the expiry scheduler before it expires anything. With a shared store that can be out
/// of reach (Redis), heartbeats sent during an outage could not be recorded: the gate extends the
/// leases once the store is back, before the first expiry after it, so no instance expires for
/// them. Throws when it cannot do so now (the pass fails and is retried).
/// </summary>
public interface IExpiryGate
{
    ValueTask BeforeExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken = default);
}
