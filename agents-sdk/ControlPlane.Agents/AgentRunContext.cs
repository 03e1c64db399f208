namespace ControlPlane.Agents;

/// <summary>How one action runs: where (the runtime), and the caller's switches.</summary>
public sealed class AgentRunContext
{
    /// <summary>The shared runtime: configuration, clients, rate limits, logs, the heartbeats kept in this process.</summary>
    public required AgentRuntime Runtime { get; init; }

    /// <summary>Print the requests the action would send (token redacted) and send nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>A human approved this call (<c>--approve</c>, the reference's <c>approve: yes</c>). Actions that need approval refuse without it and change nothing.</summary>
    public bool Approve { get; init; }

    /// <summary>How cpctl prints the envelope; actions only use it to decide whether to build <see cref="AgentEnvelope.Text"/>.</summary>
    public AgentOutput Output { get; init; } = AgentOutput.Table;

    /// <summary>The trace id to use (an X-Request-ID given by the caller); null makes a new one. Printable ASCII, at most 128 characters.</summary>
    public string? TraceId { get; init; }

    /// <summary>Where live progress goes (trafficgen), or null for none; cpctl passes stderr when it is a terminal.</summary>
    public TextWriter? Progress { get; init; }
}

/// <summary>cpctl's output: human-readable tables (default) or the JSON envelope.</summary>
public enum AgentOutput
{
    /// <summary>Tables and text for people.</summary>
    Table,

    /// <summary>The envelope as JSON, for machines.</summary>
    Json,
}

/// <summary>When an action needs a human's approval (the reference's HITL rules, §0 and §5).</summary>
public enum ApprovalRule
{
    /// <summary>Never: the action reads, or makes routine changes (registrations, exports).</summary>
    None,

    /// <summary>Only some calls, decided by the action from the input and the current state (a policy change to another algorithm class or a weight change over 50 %; traffic to production).</summary>
    Conditional,

    /// <summary>Every call that would change something (policy deletes, chaos, deregistration).</summary>
    Always,
}
