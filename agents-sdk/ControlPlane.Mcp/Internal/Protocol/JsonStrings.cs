using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Protocol;

/// <summary>
/// JsonDocument accepts invalid UTF-8 inside strings and lone surrogate escapes (<c>"\uD800"</c>) and
/// only fails when such a string is read. A message is checked whole, once, so that it is refused as
/// a parse error instead of failing wherever a name, an id or an argument is read later.
/// </summary>
internal static class JsonStrings
{
    public static bool AllReadable(JsonElement element)
    {
        try
        {
            Walk(element);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void Walk(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    _ = property.Name;
                    Walk(property.Value);
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item);
                }
                break;
            case JsonValueKind.String:
                _ = element.GetString();
                break;
        }
    }
}
