namespace ControlPlane.Sdk.Registration;

/// <summary>Settings of an <see cref="InstanceRegistrar"/>.</summary>
public sealed class InstanceRegistrarOptions
{
    /// <summary>Instances registered when the registrar starts (more can be added later with <c>InstanceRegistrar.AddAsync</c>).</summary>
    public IList<ControlPlane.Api.V1.RegisterRequest> Instances { get; } = [];

    /// <summary>
    /// Time between heartbeat rounds. Null (default): a third of the shortest lease the control
    /// plane granted, so a lease survives two lost rounds before it runs out.
    /// </summary>
    public TimeSpan? BeatInterval { get; set; }

    /// <summary>
    /// How long a heartbeat round waits for the control plane's next answer before it gives up on
    /// the stream and beats again at once through the next address (a hung or cut-off replica keeps
    /// the connection open and never answers; waiting for the connection's keepalive could outlast
    /// the leases). Null (default): 5 s, or the beat interval when that is shorter (an answer later
    /// than the next beat is due is late anyway).
    /// </summary>
    public TimeSpan? AnswerTimeout { get; set; }

    /// <summary>Instance ids per heartbeat message, 1-1000 (the server's limit). Default 1000.</summary>
    public int MaxIdsPerBeat { get; set; } = 1000;

    /// <summary>
    /// On stop, how long instances stay "draining" (no new traffic, still heartbeated) before they
    /// are deregistered, so dataplanes get the change and in-flight requests finish. Default 2 s.
    /// </summary>
    public TimeSpan DrainPeriod { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Register, drain and deregister calls in flight at once. Default 16.</summary>
    public int MaxConcurrentCalls { get; set; } = 16;

    /// <summary>First bound of the reconnect delay of the heartbeat stream (full jitter). Default 250 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Largest reconnect delay bound. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);
}
