using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;
using ControlPlane.Sdk;

namespace ControlPlane.Agents;

/// <summary>
/// One action of one agent, runnable from any front end (cpctl, the MCP server) with the same
/// behaviour: the input is bound and validated against <see cref="InputSchema"/>, the approval gate
/// is decided inside the action, and the outcome is always an <see cref="AgentEnvelope"/>: failures
/// are error envelopes, never exceptions (except <see cref="ArgumentNullException"/> for a null context).
/// </summary>
public sealed class AgentAction
{
    private readonly Type _inputType;
    private readonly Func<object, ActionScope, CancellationToken, Task<AgentEnvelope>> _run;
    private readonly Func<object, string?> _target;
    private readonly Lazy<JsonElement> _schema;

    internal AgentAction(AgentInfo agent, string name, string description, ApprovalRule approval, bool readOnly, bool destructive, Type inputType,
        Func<object, ActionScope, CancellationToken, Task<AgentEnvelope>> run, Func<object, string?> target, IReadOnlyList<string> aliases, IReadOnlyList<string> positionals)
    {
        AgentInfo = agent;
        Name = name;
        Description = description;
        Approval = approval;
        ReadOnly = readOnly;
        Destructive = destructive;
        _inputType = inputType;
        _run = run;
        _target = target;
        Aliases = aliases;
        Positionals = positionals;
        _schema = new Lazy<JsonElement>(() => InputBinding.SchemaOf(inputType));
    }

    /// <summary>The agent, e.g. "lb-policy-agent".</summary>
    public string Agent => AgentInfo.Name;

    /// <summary>The agent's description and cpctl name.</summary>
    public AgentInfo AgentInfo { get; }

    /// <summary>The action, e.g. "set-policy".</summary>
    public string Name { get; }

    /// <summary>Shorter names cpctl also accepts (e.g. "set").</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>Input properties cpctl takes as positional arguments, in order (e.g. "image").</summary>
    public IReadOnlyList<string> Positionals { get; }

    /// <summary>What the action does, for people and LLMs.</summary>
    public string Description { get; }

    /// <summary>The JSON Schema of the input object (an MCP tool's inputSchema).</summary>
    public JsonElement InputSchema => _schema.Value;

    /// <summary>When the action needs <see cref="AgentRunContext.Approve"/>; the action decides each call (see <see cref="ApprovalRule"/>).</summary>
    public ApprovalRule Approval { get; }

    /// <summary>True when the action changes nothing anywhere (MCP readOnlyHint).</summary>
    public bool ReadOnly { get; }

    /// <summary>True when the action removes or breaks something (MCP destructiveHint): deletes, chaos.</summary>
    public bool Destructive { get; }

    /// <summary>A tool name made of [a-z0-9_] only: "lb_policy_agent__set_policy".</summary>
    public string ToolName => $"{Agent}__{Name}".Replace('-', '_');

    /// <summary>
    /// Runs the action. <paramref name="input"/> is a JSON object matching <see cref="InputSchema"/>
    /// (undefined or null = no input). Cancelling <paramref name="cancellationToken"/> ends a long
    /// action (a watch, a schedule, a traffic run) with an envelope of what it did so far, or a
    /// "cancelled" error for a short one.
    /// </summary>
    public async Task<AgentEnvelope> RunAsync(JsonElement input, AgentRunContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runtime = context.Runtime;
        var traceId = context.TraceId ?? Guid.NewGuid().ToString("N");
        JsonNode? request = input.ValueKind is JsonValueKind.Undefined ? null : JsonNode.Parse(input.GetRawText());
        var scope = new ActionScope(this, context, traceId, runtime.Time.GetUtcNow(), request);
        if (!TraceIds.IsValid(traceId))
        {
            return scope.Fail(AgentErrorCodes.InvalidRequest, "the trace id (X-Request-ID) must be 1-128 printable ASCII characters without spaces");
        }
        // The SDK sends the request id of the current activity's "request_id" tag as x-request-id:
        // every call of this run carries the trace id, retries and streams included.
        using var activity = new Activity($"{Agent} {Name}");
        activity.SetTag("request_id", traceId);
        activity.SetTag("agent", Agent);
        activity.SetTag("action", Name);
        activity.Start();
        // Answers a replica served from memory (its store unreachable) during this run: the envelope says so.
        using var stale = StaleReadScope.Begin();
        object bound;
        try
        {
            bound = InputBinding.Bind(input, _inputType);
        }
        catch (InputException ex)
        {
            runtime.Log.Warn(scope.LogContext, "invalid input", ("error", ex.Message));
            return scope.Fail(AgentErrorCodes.InvalidRequest, "invalid input: " + ex.Message);
        }
        scope = new ActionScope(this, context, traceId, scope.When, JsonSerializer.SerializeToNode(bound, _inputType, InputBinding.Options)) { Target = _target(bound) };
        runtime.Log.Info(scope.LogContext, "start", ("dry_run", context.DryRun), ("approve", context.Approve));
        AgentEnvelope envelope;
        try
        {
            envelope = await _run(bound, scope, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentFailure ex)
        {
            envelope = scope.Fail(ex.Code, ex.Detail, ex.Result);
        }
        catch (ControlPlaneException ex)
        {
            // Field violations the detail does not already say (servers often repeat the one violation as the detail).
            var extra = ex.FieldViolations.Select(v => $"{v.Field}: {v.Description}").Where(v => !ex.Detail.Contains(v, StringComparison.Ordinal) && !ex.Detail.Contains(v[(v.IndexOf(':', StringComparison.Ordinal) + 2)..], StringComparison.Ordinal)).ToList();
            var fields = extra.Count == 0 ? "" : " (" + string.Join("; ", extra) + ")";
            // The server's own configuration advice names its variables, not cpctl's: say whose setting it is.
            var whose = ex.Detail.Contains("PLATFORM_TOKEN", StringComparison.Ordinal) && ex.Detail.Contains("this server has no platform token", StringComparison.Ordinal)
                ? " (the control plane itself is not configured with an admin token: its operator sets that; AGENT_PLATFORM_TOKEN here cannot help)" : "";
            // Nothing answered (in time): name the address, which the transport's detail does not.
            var where = ex.ErrorCode == AgentErrorCodes.BackendUnreachable ? $" at {ex.Address}" : "";
            envelope = scope.Fail(AgentErrorCodes.FromServer(ex.ErrorCode), $"{ex.Method}{where}: {ex.Detail}{fields}{whose}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            envelope = scope.Fail(AgentErrorCodes.Cancelled, $"{Agent} {Name} was cancelled before it finished");
        }
        catch (HttpRequestException ex)
        {
            envelope = scope.Fail(AgentErrorCodes.BackendUnreachable, ex.Message);
        }
        if (stale.LastContactMs is { } lastContact)
        {
            envelope = envelope.WithStale(new AgentStaleness(lastContact));
            runtime.Log.Warn(scope.LogContext, $"answered from a control-plane replica's memory: its store last answered {lastContact / 1000.0:0.#} s before, so this may be stale",
                ("last_contact_ms", lastContact), ("methods", string.Join(",", stale.Reads.Select(r => r.Method).Distinct())));
        }
        if (envelope.Ok)
        {
            runtime.Log.Info(scope.LogContext, "done", ("status", envelope.Status));
        }
        else
        {
            runtime.Log.Warn(scope.LogContext, "done", ("status", envelope.Status), ("code", envelope.Error!.Code), ("detail", envelope.Error.Detail));
        }
        return envelope;
    }

    internal static AgentAction Create<TInput>(AgentInfo agent, string name, string description, Func<TInput, ActionScope, CancellationToken, Task<AgentEnvelope>> run,
        ApprovalRule approval = ApprovalRule.None, bool readOnly = false, bool destructive = false, Func<TInput, string?>? target = null,
        string[]? aliases = null, string[]? positionals = null) where TInput : class =>
        new(agent, name, description, approval, readOnly, destructive, typeof(TInput), (input, scope, ct) => run((TInput)input, scope, ct),
            input => target?.Invoke((TInput)input), aliases ?? [], positionals ?? []);
}

/// <summary>One agent of the reference: its name, cpctl command, role.</summary>
/// <param name="Name">e.g. "lb-policy-agent".</param>
/// <param name="Command">The cpctl command, e.g. "lb-policy".</param>
/// <param name="Description">Its role (platform-agents-spec §2).</param>
public sealed record AgentInfo(string Name, string Command, string Description);

internal static class TraceIds
{
    public static bool IsValid(string id) => id.Length is > 0 and <= 128 && id.All(c => c is > ' ' and < (char)127);
}
