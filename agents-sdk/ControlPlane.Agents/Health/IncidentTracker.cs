using System.Globalization;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;

namespace ControlPlane.Agents.Health;

/// <summary>
/// The health-agent's incidents, one per target at a time (§5.5): the first failed probe opens one
/// with its context (target, URL, status code, body or error, time, the recent failures); later
/// failures are added to it; it closes after <see cref="SuccessesToClose"/> consecutive successes.
/// Pure state: the agent posts what <see cref="Observe"/> returns.
/// </summary>
internal sealed class IncidentTracker
{
    public const int SuccessesToClose = 3;
    private const int RecentKept = 10;

    private readonly Dictionary<string, TargetState> _targets = new(StringComparer.Ordinal);
    private readonly List<Incident> _incidents = [];

    public IReadOnlyList<Incident> Incidents => _incidents;

    public IEnumerable<Incident> Open => _incidents.Where(i => i.ClosedAt is null);

    /// <summary>Records one probe; returns the incident opened or closed by it, if any.</summary>
    public (Incident Incident, bool Opened)? Observe(ProbeResult probe)
    {
        if (!_targets.TryGetValue(probe.Target, out var state))
        {
            _targets[probe.Target] = state = new TargetState();
        }
        if (!probe.Ready)
        {
            state.Recent.Enqueue(probe);
            while (state.Recent.Count > RecentKept)
            {
                state.Recent.Dequeue();
            }
            state.Successes = 0;
            if (state.Open is { } open)
            {
                open.Failures++;
                open.Last = probe;
                return null;
            }
            var incident = new Incident($"inc-{probe.Target}-{probe.At.UtcDateTime:yyyyMMddTHHmmssfffZ}", probe.Target, probe.Url, probe.At, probe, state.LastSuccess, [.. state.Recent]);
            state.Open = incident;
            _incidents.Add(incident);
            return (incident, true);
        }
        state.LastSuccess = probe.At;
        if (state.Open is not { } current)
        {
            return null;
        }
        if (++state.Successes < SuccessesToClose)
        {
            return null;
        }
        current.ClosedAt = probe.At;
        state.Open = null;
        state.Successes = 0;
        return (current, false);
    }

    private sealed class TargetState
    {
        public Queue<ProbeResult> Recent { get; } = new();

        public Incident? Open { get; set; }

        public int Successes { get; set; }

        public DateTimeOffset? LastSuccess { get; set; }
    }
}

/// <summary>One incident: a target not ready from <see cref="OpenedAt"/> until three successes in a row.</summary>
internal sealed class Incident(string id, string target, Uri url, DateTimeOffset openedAt, ProbeResult first, DateTimeOffset? lastSuccess, IReadOnlyList<ProbeResult> recentFailures)
{
    public string Id => id;

    public string Target => target;

    public DateTimeOffset OpenedAt => openedAt;

    public DateTimeOffset? ClosedAt { get; set; }

    public int Failures { get; set; } = 1;

    public ProbeResult First { get; } = first;

    public ProbeResult Last { get; set; } = first;

    public JsonObject ToJson() => new()
    {
        ["incident_id"] = id,
        ["target"] = target,
        ["url"] = url.ToString(),
        ["opened_at"] = Time(openedAt),
        ["closed_at"] = ClosedAt is { } closed ? Time(closed) : null,
        ["status"] = ClosedAt is null ? "open" : "resolved",
        ["failures"] = Failures,
        ["first_failure"] = First.ToJson(),
        ["last_failure"] = Last.ToJson(),
        ["last_success_before"] = lastSuccess is { } s ? Time(s) : null,
        ["recent_failures"] = new JsonArray([.. recentFailures.Select(f => (JsonNode)f.ToJson())]),
    };

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
