using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Agents;

/// <summary>
/// The reference's message contract (platform-agents-spec §4), the one output of every action:
/// <c>{agent, action, trace_id, when, request, result, status, error: {code, detail}}</c>.
/// <c>status</c> is "ok" or "error"; <c>error</c> is null when ok. Tokens never appear in it: the
/// runtime redacts every string before the envelope is built.
/// </summary>
public sealed class AgentEnvelope
{
    /// <summary>The agent, e.g. "lb-policy-agent".</summary>
    public required string Agent { get; init; }

    /// <summary>The action, e.g. "set-policy".</summary>
    public required string Action { get; init; }

    /// <summary>The correlation id: the X-Request-ID sent with every call the action made.</summary>
    public required string TraceId { get; init; }

    /// <summary>When the action started (UTC).</summary>
    public required DateTimeOffset When { get; init; }

    /// <summary>The action's input as understood (or as received, when it could not be parsed).</summary>
    public JsonNode? Request { get; init; }

    /// <summary>What the action produced (also on some errors, e.g. the diff an approval is needed for).</summary>
    public JsonNode? Result { get; init; }

    /// <summary>"ok" or "error".</summary>
    public string Status => Error is null ? "ok" : "error";

    /// <summary>Why the action failed; null when it succeeded.</summary>
    public AgentError? Error { get; init; }

    /// <summary>True when <see cref="Status"/> is "ok".</summary>
    public bool Ok => Error is null;

    /// <summary>
    /// Set when some answer the action used was served from a control-plane replica's memory (its
    /// store unreachable), so the result may be stale; written as <c>"stale": {"last_contact_ms": N}</c>
    /// after <c>error</c>, and left out when every answer was current.
    /// </summary>
    public AgentStaleness? Stale { get; init; }

    /// <summary>
    /// Whether the action sent any request before it ended (not part of the JSON): an
    /// <c>invalid_request</c> without one is local validation (cpctl: exit 2), with one a server's rejection (exit 1).
    /// </summary>
    public bool SentRequests { get; init; }

    /// <summary>The human rendering of the result (tables, diffs), printed by cpctl without <c>--output json</c>; not part of the JSON.</summary>
    public string? Text { get; init; }

    /// <summary>The envelope as one JSON object, members in the reference's order.</summary>
    public string ToJson(bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteTo(json);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the envelope as one JSON object.</summary>
    public void WriteTo(Utf8JsonWriter json)
    {
        ArgumentNullException.ThrowIfNull(json);
        json.WriteStartObject();
        json.WriteString("agent", Agent);
        json.WriteString("action", Action);
        json.WriteString("trace_id", TraceId);
        json.WriteString("when", When.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        json.WritePropertyName("request");
        WriteNode(json, Request);
        json.WritePropertyName("result");
        WriteNode(json, Result);
        json.WriteString("status", Status);
        json.WritePropertyName("error");
        if (Error is null)
        {
            json.WriteNullValue();
        }
        else
        {
            json.WriteStartObject();
            json.WriteString("code", Error.Code);
            json.WriteString("detail", Error.Detail);
            json.WriteEndObject();
        }
        if (Stale is not null)
        {
            json.WriteStartObject("stale");
            json.WriteNumber("last_contact_ms", Stale.LastContactMs);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>Reads an envelope written by <see cref="ToJson"/> (cpctl's output, an MCP result).</summary>
    public static AgentEnvelope Parse(string json)
    {
        var node = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("An envelope is a JSON object.");
        var error = node["error"] as JsonObject;
        return new AgentEnvelope
        {
            Agent = (string?)node["agent"] ?? throw new JsonException("agent is missing."),
            Action = (string?)node["action"] ?? throw new JsonException("action is missing."),
            TraceId = (string?)node["trace_id"] ?? throw new JsonException("trace_id is missing."),
            When = DateTimeOffset.Parse((string?)node["when"] ?? throw new JsonException("when is missing."), CultureInfo.InvariantCulture),
            Request = node["request"]?.DeepClone(),
            Result = node["result"]?.DeepClone(),
            Error = error is null ? null : new AgentError((string?)error["code"] ?? "", (string?)error["detail"] ?? ""),
            Stale = node["stale"] is JsonObject stale ? new AgentStaleness((long?)stale["last_contact_ms"] ?? 0) : null,
        };
    }

    /// <summary>This envelope marked as (partly) answered from a replica's memory.</summary>
    public AgentEnvelope WithStale(AgentStaleness stale) => new()
    {
        Agent = Agent,
        Action = Action,
        TraceId = TraceId,
        When = When,
        Request = Request,
        Result = Result,
        Error = Error,
        Text = Text,
        Stale = stale,
        SentRequests = SentRequests,
    };

    private static void WriteNode(Utf8JsonWriter json, JsonNode? node)
    {
        if (node is null)
        {
            json.WriteNullValue();
        }
        else
        {
            node.WriteTo(json);
        }
    }
}

/// <summary>Some answer was served from a replica's memory: <paramref name="LastContactMs"/> since its store last answered (the largest such).</summary>
public sealed record AgentStaleness(long LastContactMs);

/// <summary>Why an action failed: a contract code (<see cref="AgentErrorCodes"/>) and a human-readable detail.</summary>
public sealed record AgentError(string Code, string Detail);
