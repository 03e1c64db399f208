using System.Text.Json;
using ControlPlane.Agents;

namespace ControlPlane.Agents.Tests.Infrastructure;

/// <summary>One agent runtime for a test, as the MCP server would hold one: every envelope and log line it produced is kept.</summary>
public sealed class AgentSession : IAsyncDisposable
{
    private readonly List<AgentEnvelope> _envelopes = [];

    public AgentSession(AgentPlatform? platform, AgentOptions options, TimeProvider? time)
    {
        Platform = platform;
        Runtime = new AgentRuntime(options, time, Logs);
    }

    public LogCapture Logs { get; } = new();

    public AgentRuntime Runtime { get; }

    public AgentPlatform? Platform { get; }

    public IReadOnlyList<AgentEnvelope> Envelopes => _envelopes;

    /// <summary>Everything written: envelopes (JSON and text) and logs.</summary>
    public string AllOutput => string.Join("\n", _envelopes.Select(e => e.ToJson() + "\n" + e.Text)) + "\n" + Logs.Text;

    public Task<AgentEnvelope> RunAsync(string agent, string action, object? input = null, bool approve = false, bool dryRun = false, string? traceId = null, CancellationToken cancellationToken = default) =>
        RunTaskAsync(agent, action, input, approve, dryRun, traceId, cancellationToken).WaitAsync(TimeSpan.FromSeconds(120));

    public async Task<AgentEnvelope> RunTaskAsync(string agent, string action, object? input = null, bool approve = false, bool dryRun = false, string? traceId = null, CancellationToken cancellationToken = default)
    {
        var entry = AgentActionCatalog.Find(agent, action) ?? throw new ArgumentException($"no action {agent} {action}");
        var json = input is null ? default : input as JsonElement? ?? JsonSerializer.SerializeToElement(input);
        var ran = await entry.RunAsync(json, new AgentRunContext { Runtime = Runtime, Approve = approve, DryRun = dryRun, TraceId = traceId }, cancellationToken);
        // As a client reads it: through its JSON (which also checks every envelope serializes).
        var parsed = AgentEnvelope.Parse(ran.ToJson());
        var envelope = new AgentEnvelope
        {
            Agent = parsed.Agent,
            Action = parsed.Action,
            TraceId = parsed.TraceId,
            When = parsed.When,
            Request = parsed.Request,
            Result = parsed.Result,
            Error = parsed.Error,
            Stale = parsed.Stale,
            Text = ran.Text,
        };
        lock (_envelopes)
        {
            _envelopes.Add(envelope);
        }
        return envelope;
    }

    public ValueTask DisposeAsync() => Runtime.DisposeAsync();
}
