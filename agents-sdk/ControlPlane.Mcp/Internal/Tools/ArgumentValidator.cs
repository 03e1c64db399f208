using System.Globalization;
using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Tools;

/// <summary>
/// Checks a call's arguments against the top level of the tool's input schema: required arguments,
/// each argument's <c>type</c> and <c>enum</c>, and no undeclared argument when the schema closes
/// them (<c>additionalProperties: false</c>). Nested values are the handler's to check. Messages name
/// the argument, never echo its value.
/// </summary>
internal static class ArgumentValidator
{
    public static IReadOnlyList<string> Validate(RegisteredTool tool, JsonElement arguments)
    {
        var problems = new List<string>();
        foreach (var name in tool.Required)
        {
            if (!arguments.TryGetProperty(name, out _))
            {
                problems.Add($"missing required argument '{name}'");
            }
        }
        foreach (var argument in arguments.EnumerateObject())
        {
            if (!tool.Properties.TryGetValue(argument.Name, out var rule))
            {
                if (tool.ClosedProperties)
                {
                    problems.Add($"unknown argument '{Shorten(argument.Name)}' (this tool takes: {string.Join(", ", tool.Properties.Keys.Order(StringComparer.Ordinal))})");
                }
                continue;
            }
            if (rule.Types.Count > 0 && !rule.Types.Any(t => HasType(argument.Value, t)))
            {
                problems.Add($"argument '{argument.Name}' must be {Describe(rule.Types)}, not {KindOf(argument.Value)}");
            }
            else if (rule.Enum is { } allowed && !allowed.Any(a => JsonElement.DeepEquals(a, argument.Value)))
            {
                problems.Add($"argument '{argument.Name}' must be one of {string.Join(", ", allowed.Select(a => a.GetRawText()))}");
            }
        }
        return problems;
    }

    /// <summary>JSON Schema's type names; an unknown name is not judged.</summary>
    private static bool HasType(JsonElement value, string type) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "number" => value.ValueKind == JsonValueKind.Number,
        "integer" => value.ValueKind == JsonValueKind.Number && IsInteger(value),
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };

    /// <summary>JSON Schema counts any number with a zero fractional part as an integer (1, 1.0, 1e2).</summary>
    private static bool IsInteger(JsonElement value)
    {
        if (value.TryGetInt64(out _))
        {
            return true;
        }
        if (value.TryGetDecimal(out var d))
        {
            return d == decimal.Truncate(d);
        }
        return value.TryGetDouble(out var x) && double.IsFinite(x) && Math.Floor(x) == x;
    }

    private static string Describe(IReadOnlyList<string> types) =>
        types.Count == 1 ? Article(types[0]) : "one of " + string.Join(", ", types);

    private static string Article(string type) => type switch
    {
        "integer" or "object" or "array" => "an " + type,
        "null" => "null",
        _ => "a " + type,
    };

    private static string KindOf(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => IsInteger(value) ? "an integer" : "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.Null => "null",
        _ => value.ValueKind.ToString().ToLower(CultureInfo.InvariantCulture),
    };

    /// <summary>An undeclared name comes from the client: keep the message short.</summary>
    private static string Shorten(string name) => name.Length <= 64 ? name : name[..64] + "...";
}
