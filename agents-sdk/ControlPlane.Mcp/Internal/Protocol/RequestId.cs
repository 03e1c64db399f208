using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Protocol;

/// <summary>
/// A request id, a string or a number (MCP: never null). <see cref="Raw"/> is its JSON text exactly as
/// received, echoed in the response unchanged (so 1.0, 1e3 or a 30-digit number come back as sent);
/// <see cref="Key"/> identifies it for cancellation: the string's value, or the number's text.
/// </summary>
internal readonly record struct RequestId(string Raw, string Key)
{
    public static bool TryRead(JsonElement id, out RequestId requestId)
    {
        switch (id.ValueKind)
        {
            case JsonValueKind.String:
                requestId = new RequestId(id.GetRawText(), "s:" + id.GetString());
                return true;
            case JsonValueKind.Number:
                var raw = id.GetRawText();
                requestId = new RequestId(raw, "n:" + raw);
                return true;
            default:
                requestId = default;
                return false;
        }
    }

    /// <summary>The id of a request the server sends (server-to-client requests use their own numbering).</summary>
    public static RequestId ForServer(long sequence)
    {
        var value = "mcp-server-" + sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new RequestId("\"" + value + "\"", "s:" + value);
    }
}
