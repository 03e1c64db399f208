namespace ControlPlane.Dataplane.LoadBalancing;

/// <summary>
/// The mutable state of one endpoint: requests in flight (least_conn's input) and passive health.
/// Carried from snapshot to snapshot while the endpoint keeps its instance id, host and port, so a
/// config push neither forgets an ejection nor resets the load the node sends there.
/// </summary>
internal sealed class EndpointState(string instanceId, string host, int port)
{
    private int _outstanding;

    // Passive health (Health/ImageHealth): failures are counted lock-free; ejection fields are
    // written under the image's health lock and read with Volatile.
    internal int ConsecutiveFailures;
    internal long EjectedUntil;
    internal int Ejections;

    public string InstanceId { get; } = instanceId;

    public string Host { get; } = host;

    public int Port { get; } = port;

    /// <summary>Requests sent to this endpoint and not yet completed (response body included).</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    public bool SameEndpoint(string instanceId, string host, int port) =>
        Port == port && string.Equals(InstanceId, instanceId, StringComparison.Ordinal) && string.Equals(Host, host, StringComparison.OrdinalIgnoreCase);

    public void RequestStarted() => Interlocked.Increment(ref _outstanding);

    public void RequestFinished() => Interlocked.Decrement(ref _outstanding);

    public override string ToString() => $"{InstanceId}@{Host}:{Port}";
}
