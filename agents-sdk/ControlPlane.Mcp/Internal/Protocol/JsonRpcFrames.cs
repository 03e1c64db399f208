using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Protocol;

/// <summary>
/// Encodes outgoing JSON-RPC messages as compact UTF-8 JSON, without the line terminator. A compact
/// writer never emits a raw newline (JSON escapes them inside strings), which MCP's stdio transport
/// needs: messages are delimited by newlines and must not contain any.
/// </summary>
internal static class JsonRpcFrames
{
    /// <summary>The output is UTF-8 JSON, never HTML: no need to escape non-ASCII or markup characters.</summary>
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static byte[] Result(RequestId id, Action<Utf8JsonWriter> writeResult) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        json.WritePropertyName("id");
        json.WriteRawValue(id.Raw, skipInputValidation: true);
        json.WritePropertyName("result");
        json.WriteStartObject();
        writeResult(json);
        json.WriteEndObject();
        json.WriteEndObject();
    });

    /// <summary>An error response; <paramref name="id"/> null when the request's id could not be read (JSON-RPC: <c>"id": null</c>).</summary>
    public static byte[] Error(RequestId? id, int code, string message, Action<Utf8JsonWriter>? data = null) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        json.WritePropertyName("id");
        if (id is { } known)
        {
            json.WriteRawValue(known.Raw, skipInputValidation: true);
        }
        else
        {
            json.WriteNullValue();
        }
        json.WritePropertyName("error");
        json.WriteStartObject();
        json.WriteNumber("code", code);
        json.WriteString("message", message);
        if (data is not null)
        {
            json.WritePropertyName("data");
            data(json);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    });

    public static byte[] Notification(string method, Action<Utf8JsonWriter> writeParams) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        json.WriteString("method", method);
        json.WritePropertyName("params");
        json.WriteStartObject();
        writeParams(json);
        json.WriteEndObject();
        json.WriteEndObject();
    });

    public static byte[] Request(RequestId id, string method, Action<Utf8JsonWriter> writeParams) => Write(json =>
    {
        json.WriteStartObject();
        json.WriteString("jsonrpc", "2.0");
        json.WritePropertyName("id");
        json.WriteRawValue(id.Raw, skipInputValidation: true);
        json.WriteString("method", method);
        json.WritePropertyName("params");
        json.WriteStartObject();
        writeParams(json);
        json.WriteEndObject();
        json.WriteEndObject();
    });

    /// <summary>A batch response: the responses as one JSON array (JSON-RPC 2.0 section 6).</summary>
    public static byte[] Batch(IReadOnlyList<byte[]> responses)
    {
        var buffer = new ArrayBufferWriter<byte>(responses.Sum(r => r.Length + 1) + 1);
        buffer.Write("["u8);
        for (var i = 0; i < responses.Count; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }
            buffer.Write(responses[i]);
        }
        buffer.Write("]"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(json);
        }
        return buffer.WrittenSpan.ToArray();
    }
}
