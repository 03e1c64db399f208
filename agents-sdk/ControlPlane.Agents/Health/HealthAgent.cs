using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;

namespace ControlPlane.Agents.Health;

/// <summary>
/// health-agent (platform-agents-spec §5.5): polls <c>/readyz</c> of the control plane (AGENT_LB_BASE)
/// and of every dataplane (AGENT_DATAPLANES) every 30 s (interval_s); a target that is not ready
/// opens an incident on the user channel with its context; three consecutive successes close it.
/// </summary>
internal static class HealthAgent
{
    public static readonly AgentInfo Info = new("health-agent", "health", "Watch /readyz of the control plane and the dataplanes; open and close incidents.");

    public static IEnumerable<AgentAction> Actions() =>
    [
        AgentAction.Create<CheckInput>(Info, "check", "One round: GET /readyz of the control plane and every dataplane; an error when any is not ready.",
            CheckAsync, readOnly: true),
        AgentAction.Create<WatchInput>(Info, "watch",
            "Polls /readyz of the control plane and every dataplane every interval_s (default 30 s) for rounds (default: until stopped); opens an incident on the user channel when a target fails (target, status, body, time, recent failures) and closes it after 3 consecutive successes.",
            WatchAsync),
    ];

    internal static IReadOnlyList<(string Target, Uri Base)> Targets(ActionScope scope, IReadOnlyList<string>? targets) =>
        targets is { Count: > 0 } given
            ? [.. given.Select((t, i) => ($"target-{i + 1}", ParseTarget(t)))]
            : Readiness.Targets(scope.Options);

    private static async Task<AgentEnvelope> CheckAsync(CheckInput input, ActionScope scope, CancellationToken ct)
    {
        var targets = Targets(scope, input.Targets);
        if (scope.DryRun)
        {
            return scope.Planned([.. targets.Select(t => scope.Plan(Readiness.Call(t.Base), note: t.Target))]);
        }
        var probes = await RoundAsync(scope, targets, ct).ConfigureAwait(false);
        var result = new JsonObject { ["ready"] = probes.All(p => p.Ready), ["targets"] = new JsonArray([.. probes.Select(p => (JsonNode)p.ToJson())]) };
        var text = Table(probes);
        var failed = probes.Where(p => !p.Ready).ToList();
        return failed.Count == 0
            ? scope.Ok(result, text)
            : scope.Fail(AgentErrorCodes.NotReady, "not ready: " + string.Join("; ", failed.Select(p => $"{p.Target} ({p.Url}): {p.Summary}")), result, text);
    }

    private static async Task<AgentEnvelope> WatchAsync(WatchInput input, ActionScope scope, CancellationToken ct)
    {
        var targets = Targets(scope, input.Targets);
        var interval = TimeSpan.FromSeconds(input.IntervalS);
        if (scope.DryRun)
        {
            return scope.Planned([.. targets.Select(t => scope.Plan(Readiness.Call(t.Base), note: $"{t.Target}, every {input.IntervalS} s"))]);
        }
        var tracker = new IncidentTracker();
        var rounds = 0;
        var probesSent = 0;
        try
        {
            while (input.Rounds is null || rounds < input.Rounds)
            {
                if (rounds > 0)
                {
                    await Task.Delay(interval, scope.Time, ct).ConfigureAwait(false);
                }
                var probes = await RoundAsync(scope, targets, ct).ConfigureAwait(false);
                rounds++;
                probesSent += probes.Count;
                foreach (var probe in probes)
                {
                    if (tracker.Observe(probe) is not var (incident, opened))
                    {
                        continue;
                    }
                    var context = incident.ToJson();
                    var text = opened
                        ? $"incident {incident.Id} opened: {probe.Target} ({probe.Url}) is not ready: {probe.Summary}"
                        : $"incident {incident.Id} resolved: {probe.Target} ready again ({IncidentTracker.SuccessesToClose} successes in a row after {incident.Failures} failed probe{(incident.Failures == 1 ? "" : "s")})";
                    if (opened)
                    {
                        scope.Warn(text, ("incident", context));
                    }
                    else
                    {
                        scope.Info(text, ("incident", context));
                    }
                    await scope.PostToChannelAsync(opened ? "incident_opened" : "incident_resolved", text, context, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping the watch is its normal end.
        }
        var result = new JsonObject
        {
            ["rounds"] = rounds,
            ["probes"] = probesSent,
            ["interval_s"] = input.IntervalS,
            ["incidents"] = new JsonArray([.. tracker.Incidents.Select(i => (JsonNode)i.ToJson())]),
            ["open_incidents"] = tracker.Open.Count(),
        };
        var summary = new StringBuilder($"{rounds} round{(rounds == 1 ? "" : "s")} over {targets.Count} targets; {tracker.Incidents.Count} incident(s), {tracker.Open.Count()} open{Environment.NewLine}");
        foreach (var incident in tracker.Incidents)
        {
            summary.AppendLine($"  {incident.Id}: {incident.Target}, {incident.Failures} failed probes, {(incident.ClosedAt is null ? "open" : "resolved")}");
        }
        return scope.Ok(result, summary.ToString());
    }

    /// <summary>Probes every target (in parallel: one slow target does not delay the others' verdict).</summary>
    internal static async Task<IReadOnlyList<ProbeResult>> RoundAsync(ActionScope scope, IReadOnlyList<(string Target, Uri Base)> targets, CancellationToken ct) =>
        await Task.WhenAll(targets.Select(t => Readiness.ProbeAsync(scope, t.Target, t.Base, ct))).ConfigureAwait(false);

    internal static string Table(IEnumerable<ProbeResult> probes) =>
        TextTable.Render(["target", "url", "ready", "status_code", "body", "error", "elapsed_ms"], probes.Select(p => p.ToJson()));

    private static Uri ParseTarget(string target)
    {
        try
        {
            return AgentOptions.ParseUri("targets", target);
        }
        catch (ArgumentException ex)
        {
            throw new AgentFailure(AgentErrorCodes.InvalidRequest, ex.Message);
        }
    }
}

internal sealed record CheckInput
{
    [Description("Base URLs to probe instead of the control plane (AGENT_LB_BASE) and the dataplanes (AGENT_DATAPLANES).")]
    public List<string>? Targets { get; init; }
}

internal sealed record WatchInput
{
    [Description("Seconds between rounds (default 30).")]
    [Range(0.05, 3600)]
    public double IntervalS { get; init; } = 30;

    [Description("Stop after this many rounds (default: until stopped).")]
    [Range(1, 1_000_000)]
    public int? Rounds { get; init; }

    [Description("Base URLs to probe instead of the control plane (AGENT_LB_BASE) and the dataplanes (AGENT_DATAPLANES).")]
    public List<string>? Targets { get; init; }
}
