using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// The agents' JSON log lines (platform-agents-spec §0, §7): one object per line with <c>ts</c>,
/// <c>level</c>, <c>agent</c>, <c>action</c>, <c>target</c>, <c>trace_id</c>, <c>msg</c> and the
/// event's fields, written to stderr (stdout carries the envelope). Every string is redacted.
/// </summary>
internal sealed class AgentLog(TextWriter writer, Redactor redactor, TimeProvider time, bool verbose)
{
    private readonly Lock _lock = new();

    public bool Verbose => verbose;

    public void Info(LogContext context, string message, params (string Key, object? Value)[] fields)
    {
        if (verbose)
        {
            Write("info", context, message, fields);
        }
    }

    public void Warn(LogContext context, string message, params (string Key, object? Value)[] fields) => Write("warn", context, message, fields);

    public void Error(LogContext context, string message, params (string Key, object? Value)[] fields) => Write("error", context, message, fields);

    public void Write(string level, LogContext context, string message, (string Key, object? Value)[] fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("ts", time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteString("level", level);
            json.WriteString("agent", context.Agent);
            json.WriteString("action", context.Action);
            json.WriteString("target", context.Target is null ? null : redactor.Redact(context.Target));
            json.WriteString("trace_id", context.TraceId);
            json.WriteString("msg", redactor.Redact(message));
            foreach (var (key, value) in fields)
            {
                json.WritePropertyName(key);
                WriteValue(json, value);
            }
            json.WriteEndObject();
        }
        var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        lock (_lock)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }

    private void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string s:
                json.WriteStringValue(redactor.Redact(s));
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case int or long or short:
                json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case double d:
                json.WriteNumberValue(Math.Round(d, 3));
                break;
            case TimeSpan t:
                json.WriteNumberValue(Math.Round(t.TotalMilliseconds, 3));
                break;
            case DateTimeOffset moment:
                json.WriteStringValue(moment.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
                break;
            case JsonNode node:
                redactor.Redact(node)!.WriteTo(json);
                break;
            default:
                json.WriteStringValue(redactor.Redact(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""));
                break;
        }
    }
}

/// <summary>Who logs: the fields every agent log line carries.</summary>
internal sealed record LogContext(string Agent, string Action, string? Target, string TraceId);
