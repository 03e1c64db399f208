using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>
/// MCP pagination: an opaque <c>cursor</c> in, a <c>nextCursor</c> out while more remain. Cursors
/// are the list's name and an offset, base64url-encoded; the client must not read meaning into them.
/// </summary>
internal static class Paging
{
    public static int Start(JsonElement parameters, string list, int count)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty("cursor", out var cursor) || cursor.ValueKind == JsonValueKind.Null)
        {
            return 0;
        }
        if (cursor.ValueKind == JsonValueKind.String && cursor.GetString() is { Length: > 0 and <= 64 } text && Base64Url.IsValid(text))
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(text));
            var prefix = list + ":";
            if (decoded.StartsWith(prefix, StringComparison.Ordinal)
                && int.TryParse(decoded.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                && offset <= count)
            {
                return offset;
            }
        }
        throw McpProtocolException.InvalidParams("Invalid params: unknown cursor");
    }

    public static void WriteNextCursor(Utf8JsonWriter json, string list, int end, int count)
    {
        if (end < count)
        {
            json.WriteString("nextCursor", Base64Url.EncodeToString(Encoding.UTF8.GetBytes(list + ":" + end.ToString(CultureInfo.InvariantCulture))));
        }
    }
}
