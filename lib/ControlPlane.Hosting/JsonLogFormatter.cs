using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace ControlPlane.Hosting;

/// <summary>
/// One JSON object per line: <c>ts</c>, <c>level</c>, <c>category</c>, <c>event_id</c>,
/// <c>message</c>, <c>trace_id</c>/<c>span_id</c> (W3C, from the current activity, else the request's <see cref="RequestTrace"/>),
/// <c>request_id</c> (from the request's <see cref="RequestIdScope"/>), the message's named fields, and
/// <c>exception</c>. Flat fields, so log pipelines and agents can filter on them directly.
/// </summary>
public sealed class JsonLogFormatter() : ConsoleFormatter(FormatterName)
{
    public const string FormatterName = "controlplane-json";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null)
        {
            return;
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("ts", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("level", LevelName(logEntry.LogLevel));
            json.WriteString("category", logEntry.Category);
            json.WriteNumber("event_id", logEntry.EventId.Id);
            json.WriteString("message", message);
            var request = RequestIdScope.Current;
            if (Activity.Current is { } activity)
            {
                json.WriteString("trace_id", activity.TraceId.ToHexString());
                json.WriteString("span_id", activity.SpanId.ToHexString());
            }
            else if (request?.Trace is { } trace)
            {
                json.WriteString("trace_id", trace.TraceId.ToHexString());
                json.WriteString("span_id", trace.SpanId.ToHexString());
            }
            if (request is not null)
            {
                json.WriteString("request_id", request.RequestId);
            }
            if (logEntry.State is IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                foreach (var (key, value) in fields)
                {
                    if (key == "{OriginalFormat}" || key is "ts" or "level" or "category" or "event_id" or "message" or "trace_id" or "span_id" or "request_id")
                    {
                        continue;
                    }
                    WriteValue(json, key, value);
                }
            }
            if (logEntry.Exception is { } ex)
            {
                json.WriteString("exception", ex.ToString());
            }
            json.WriteEndObject();
        }
        textWriter.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WriteValue(Utf8JsonWriter json, string key, object? value)
    {
        switch (value)
        {
            case null: json.WriteNull(key); break;
            case bool b: json.WriteBoolean(key, b); break;
            case int i: json.WriteNumber(key, i); break;
            case long l: json.WriteNumber(key, l); break;
            case double d when double.IsFinite(d): json.WriteNumber(key, d); break;
            case DateTimeOffset t: json.WriteString(key, t.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture)); break;
            case IFormattable f: json.WriteString(key, f.ToString(null, System.Globalization.CultureInfo.InvariantCulture)); break;
            default: json.WriteString(key, value.ToString()); break;
        }
    }

    private static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };
}
