using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// One description of each action's input, used three ways: the input record's properties and their
/// attributes (<see cref="DescriptionAttribute"/>, <see cref="AllowedValuesAttribute"/>,
/// <see cref="RangeAttribute"/>, <see cref="LengthAttribute"/>, <see cref="RegularExpressionAttribute"/>)
/// become the action's JSON Schema (what MCP clients and cpctl's flags see), bind the JSON input
/// (unknown members, wrong types and missing required members are errors), and validate it.
/// </summary>
internal static class InputBinding
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        NumberHandling = JsonNumberHandling.Strict,
        TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
    };

    /// <summary>The JSON Schema (draft 2020-12 vocabulary) of <paramref name="type"/>'s JSON form.</summary>
    public static JsonElement SchemaOf(Type type)
    {
        var node = Options.GetJsonSchemaAsNode(type, new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = Annotate,
        });
        if (node is JsonObject root)
        {
            root.Insert(0, "$schema", "https://json-schema.org/draft/2020-12/schema");
        }
        return JsonSerializer.SerializeToElement(node);
    }

    /// <summary>Binds and validates <paramref name="input"/>; throws <see cref="InputException"/> saying what is wrong.</summary>
    public static object Bind(JsonElement input, Type type)
    {
        if (input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            input = JsonSerializer.SerializeToElement(new JsonObject());
        }
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw new InputException($"the input must be a JSON object, not {input.ValueKind.ToString().ToLowerInvariant()}");
        }
        object? value;
        try
        {
            value = input.Deserialize(type, Options);
        }
        catch (JsonException ex)
        {
            throw new InputException(Describe(ex));
        }
        if (value is null)
        {
            throw new InputException("the input is empty");
        }
        Validate(value, "$");
        return value;
    }

    private static void Validate(object value, string path)
    {
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var name = JsonName(property);
            var member = property.GetValue(value);
            var context = new ValidationContext(value) { MemberName = property.Name, DisplayName = name };
            foreach (var attribute in property.GetCustomAttributes<ValidationAttribute>())
            {
                if (member is not null && attribute.GetValidationResult(member, context) is { } failure && failure != ValidationResult.Success)
                {
                    throw new InputException($"{path}.{name}: {Explain(attribute, member)}");
                }
            }
            switch (member)
            {
                case null or string:
                    break;
                case IDictionary dictionary:
                    foreach (DictionaryEntry entry in dictionary)
                    {
                        if (entry.Value is { } v && IsRecord(v.GetType()))
                        {
                            Validate(v, $"{path}.{name}.{entry.Key}");
                        }
                    }
                    break;
                case IEnumerable list:
                    var i = 0;
                    foreach (var item in list)
                    {
                        if (item is not null && IsRecord(item.GetType()))
                        {
                            Validate(item, $"{path}.{name}[{i}]");
                        }
                        i++;
                    }
                    break;
                default:
                    if (IsRecord(member.GetType()))
                    {
                        Validate(member, $"{path}.{name}");
                    }
                    break;
            }
        }
    }

    private static string Explain(ValidationAttribute attribute, object value) => attribute switch
    {
        AllowedValuesAttribute allowed => $"'{value}' is not one of {string.Join(", ", allowed.Values)}",
        RangeAttribute range => $"{value} is not between {range.Minimum} and {range.Maximum}",
        LengthAttribute length => $"must have {length.MinimumLength}-{length.MaximumLength} {(value is string ? "characters" : "entries")}",
        RegularExpressionAttribute regex => $"'{value}' does not match {regex.Pattern}",
        _ => attribute.FormatErrorMessage("value"),
    };

    private static bool IsRecord(Type type) => type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("ControlPlane.Agents", StringComparison.Ordinal) == true;

    private static string JsonName(PropertyInfo property) =>
        property.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(property.Name);

    /// <summary>
    /// What is wrong, by JSON path and JSON type: System.Text.Json's message names .NET types
    /// (System.Int32, List`1[...]) and positions in a file there is not.
    /// </summary>
    private static string Describe(JsonException ex)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" | LineNumber", StringComparison.Ordinal);
        message = cut >= 0 ? message[..cut] : message;
        var pathCut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        message = pathCut >= 0 ? message[..pathCut] : message;
        var path = string.IsNullOrEmpty(ex.Path) ? "$" : ex.Path;
        if (Regex.Match(message, "missing required properties including: (?<names>.*?)\\.?$") is { Success: true } missing)
        {
            return $"{path}: missing required {missing.Groups["names"].Value}";
        }
        if (Regex.Match(message, "could not be converted to (?<type>\\S+?)\\.?$") is { Success: true } converted)
        {
            return $"{path}: expected {JsonTypeOf(converted.Groups["type"].Value)}";
        }
        if (Regex.Match(message, "property '(?<name>[^']+)' could not be mapped") is { Success: true } unknown)
        {
            return $"{path}: unknown property '{unknown.Groups["name"].Value}'";
        }
        message = Regex.Replace(message, "'?(System|ControlPlane)\\.[\\w.`\\[\\],]+'?", "the value");
        return $"{path}: {message.Replace("The JSON property", "property", StringComparison.Ordinal)}";
    }

    /// <summary>The JSON type a .NET type in a System.Text.Json message stands for.</summary>
    private static string JsonTypeOf(string type) => type switch
    {
        "System.Int16" or "System.Int32" or "System.Int64" or "System.UInt16" or "System.UInt32" or "System.UInt64" or "System.Byte" => "a whole number",
        "System.Double" or "System.Single" or "System.Decimal" => "a number",
        "System.Boolean" => "true or false",
        "System.String" => "a string",
        "System.DateTimeOffset" or "System.DateTime" => "a string (an RFC 3339 time)",
        _ when type.Contains("List`1", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal) || type.Contains("IEnumerable", StringComparison.Ordinal) => "an array",
        _ => "an object",
    };

    private static JsonNode Annotate(JsonSchemaExporterContext context, JsonNode schema)
    {
        if (schema is not JsonObject node)
        {
            return schema;
        }
        var provider = context.PropertyInfo?.AttributeProvider ?? context.TypeInfo.Type;
        if (provider.GetCustomAttributes(typeof(DescriptionAttribute), inherit: false).FirstOrDefault() is DescriptionAttribute description)
        {
            node.Insert(0, "description", description.Description);
        }
        foreach (var attribute in provider.GetCustomAttributes(typeof(ValidationAttribute), inherit: false))
        {
            switch (attribute)
            {
                case AllowedValuesAttribute allowed:
                    node["enum"] = new JsonArray([.. allowed.Values.Select(v => JsonValue.Create(v?.ToString()))]);
                    break;
                case RangeAttribute range:
                    node["minimum"] = JsonValue.Create(Convert.ToDouble(range.Minimum, System.Globalization.CultureInfo.InvariantCulture));
                    node["maximum"] = JsonValue.Create(Convert.ToDouble(range.Maximum, System.Globalization.CultureInfo.InvariantCulture));
                    break;
                case LengthAttribute length when IsArray(node):
                    node["minItems"] = length.MinimumLength;
                    node["maxItems"] = length.MaximumLength;
                    break;
                case LengthAttribute length:
                    node["minLength"] = length.MinimumLength;
                    node["maxLength"] = length.MaximumLength;
                    break;
                case RegularExpressionAttribute regex:
                    node["pattern"] = regex.Pattern;
                    break;
            }
        }
        if (IsObject(node) && context.PropertyInfo is null && !node.ContainsKey("additionalProperties"))
        {
            node["additionalProperties"] = false;
        }
        return node;
    }

    private static bool IsArray(JsonObject node) => HasType(node, "array");

    private static bool IsObject(JsonObject node) => HasType(node, "object") && node.ContainsKey("properties");

    private static bool HasType(JsonObject node, string type) => node["type"] switch
    {
        JsonValue value => (string?)value == type,
        JsonArray types => types.Any(t => (string?)t == type),
        _ => false,
    };
}

/// <summary>The input of an action is malformed or out of range (the envelope's <c>invalid_request</c>).</summary>
internal sealed class InputException(string detail) : Exception(detail);
