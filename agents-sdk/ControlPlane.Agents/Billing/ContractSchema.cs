using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ControlPlane.Agents.Billing;

/// <summary>
/// Validates a document against a JSON Schema (draft 2020-12) as the contract files in
/// <c>contracts/</c> use it: <c>type</c>, <c>required</c>, <c>properties</c>,
/// <c>additionalProperties</c>, <c>items</c>, <c>$ref</c> to <c>#/$defs/...</c>, <c>enum</c>,
/// <c>const</c>, <c>pattern</c>, <c>minLength</c>/<c>maxLength</c>, <c>minimum</c>/<c>maximum</c> and
/// <c>format: date-time</c> (RFC 3339, asserted as python's jsonschema does with its format
/// checker, which the project's contract tests run). The schema is the repository's file, embedded at build time,
/// never a copy of its rules in code; a keyword this validator does not implement fails loading, so a
/// contract that grows a new rule cannot be half-checked.
/// </summary>
internal sealed class ContractSchema
{
    private static readonly HashSet<string> Annotations = ["$schema", "$id", "title", "description", "$comment", "examples", "default", "$defs"];
    private static readonly HashSet<string> Implemented = ["type", "required", "properties", "additionalProperties", "items", "$ref", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "format"];

    private readonly JsonElement _root;

    private ContractSchema(JsonElement root)
    {
        _root = root;
        CheckKeywords(root, "#");
    }

    /// <summary>contracts/lb_billing_export.schema.json, as embedded in this assembly.</summary>
    public static ContractSchema BillingExport { get; } = Load("contracts/lb_billing_export.schema.json");

    public static ContractSchema Load(string resource)
    {
        using var stream = typeof(ContractSchema).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{resource} is not embedded in {typeof(ContractSchema).Assembly.GetName().Name}.");
        using var document = JsonDocument.Parse(stream);
        return new ContractSchema(document.RootElement.Clone());
    }

    public static ContractSchema Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return new ContractSchema(document.RootElement.Clone());
    }

    /// <summary>Every violation, as "path: what" ("$" is the document); empty when valid.</summary>
    public IReadOnlyList<string> Validate(JsonElement document)
    {
        var errors = new List<string>();
        Check(_root, document, "$", errors);
        return errors;
    }

    private void Check(JsonElement schema, JsonElement value, string path, List<string> errors)
    {
        if (schema.ValueKind == JsonValueKind.True)
        {
            return;
        }
        if (schema.ValueKind == JsonValueKind.False)
        {
            errors.Add($"{path}: not allowed");
            return;
        }
        if (schema.TryGetProperty("$ref", out var reference))
        {
            Check(Resolve(reference.GetString()!), value, path, errors);
        }
        if (schema.TryGetProperty("type", out var type) && !TypeMatches(type, value))
        {
            errors.Add($"{path}: {Kind(value)} is not of type {type.GetRawText()}");
            return;
        }
        if (schema.TryGetProperty("enum", out var options) && !options.EnumerateArray().Any(o => JsonElement.DeepEquals(o, value)))
        {
            errors.Add($"{path}: {value.GetRawText()} is not one of {options.GetRawText()}");
        }
        if (schema.TryGetProperty("const", out var constant) && !JsonElement.DeepEquals(constant, value))
        {
            errors.Add($"{path}: {value.GetRawText()} is not {constant.GetRawText()}");
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                CheckString(schema, value.GetString()!, path, errors);
                break;
            case JsonValueKind.Number:
                CheckNumber(schema, value.GetDouble(), path, errors);
                break;
            case JsonValueKind.Object:
                CheckObject(schema, value, path, errors);
                break;
            case JsonValueKind.Array when schema.TryGetProperty("items", out var items):
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    Check(items, item, $"{path}[{i++}]", errors);
                }
                break;
        }
    }

    private static void CheckString(JsonElement schema, string text, string path, List<string> errors)
    {
        // Lengths count code points, as JSON Schema does.
        var length = text.EnumerateRunes().Count();
        if (schema.TryGetProperty("minLength", out var min) && length < min.GetInt32())
        {
            errors.Add($"{path}: shorter than {min.GetInt32()} characters");
        }
        if (schema.TryGetProperty("maxLength", out var max) && length > max.GetInt32())
        {
            errors.Add($"{path}: longer than {max.GetInt32()} characters");
        }
        if (schema.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(text, pattern.GetString()!, RegexOptions.ECMAScript, TimeSpan.FromSeconds(1)))
        {
            errors.Add($"{path}: '{text}' does not match {pattern.GetString()}");
        }
        if (schema.TryGetProperty("format", out var format) && format.GetString() == "date-time" && !IsDateTime(text))
        {
            errors.Add($"{path}: '{text}' is not an RFC 3339 date-time");
        }
    }

    private static void CheckNumber(JsonElement schema, double number, string path, List<string> errors)
    {
        if (schema.TryGetProperty("minimum", out var min) && number < min.GetDouble())
        {
            errors.Add($"{path}: {number.ToString(CultureInfo.InvariantCulture)} is less than {min.GetRawText()}");
        }
        if (schema.TryGetProperty("maximum", out var max) && number > max.GetDouble())
        {
            errors.Add($"{path}: {number.ToString(CultureInfo.InvariantCulture)} is more than {max.GetRawText()}");
        }
    }

    private void CheckObject(JsonElement schema, JsonElement value, string path, List<string> errors)
    {
        if (schema.TryGetProperty("required", out var required))
        {
            foreach (var name in required.EnumerateArray().Select(n => n.GetString()!).Where(n => !value.TryGetProperty(n, out _)))
            {
                errors.Add($"{path}: '{name}' is required");
            }
        }
        schema.TryGetProperty("properties", out var properties);
        foreach (var member in value.EnumerateObject())
        {
            var child = $"{path}.{member.Name}";
            if (properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(member.Name, out var propertySchema))
            {
                Check(propertySchema, member.Value, child, errors);
            }
            else if (schema.TryGetProperty("additionalProperties", out var additional))
            {
                if (additional.ValueKind == JsonValueKind.False)
                {
                    errors.Add($"{path}: '{member.Name}' is not allowed (additionalProperties: false)");
                }
                else
                {
                    Check(additional, member.Value, child, errors);
                }
            }
        }
    }

    private static bool TypeMatches(JsonElement type, JsonElement value) => type.ValueKind == JsonValueKind.Array
        ? type.EnumerateArray().Any(t => TypeMatches(t.GetString()!, value))
        : TypeMatches(type.GetString()!, value);

    private static bool TypeMatches(string type, JsonElement value) => type switch
    {
        "object" => value.ValueKind == JsonValueKind.Object,
        "array" => value.ValueKind == JsonValueKind.Array,
        "string" => value.ValueKind == JsonValueKind.String,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => value.ValueKind == JsonValueKind.Null,
        "number" => value.ValueKind == JsonValueKind.Number,
        // 1.0 is an integer in JSON Schema: a number with a zero fractional part.
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d == Math.Floor(d) && !double.IsInfinity(d),
        _ => throw new InvalidOperationException($"unknown JSON Schema type '{type}'"),
    };

    private static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Number => "number",
        var k => k.ToString().ToLowerInvariant(),
    };

    /// <summary>RFC 3339 §5.6 date-time: full date, 'T', full time with fraction and offset (Z or ±hh:mm).</summary>
    private static bool IsDateTime(string text) =>
        Regex.IsMatch(text, @"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\z", RegexOptions.None, TimeSpan.FromSeconds(1))
        && DateTimeOffset.TryParse(text.Replace('t', 'T').Replace('z', 'Z'), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out _);

    private JsonElement Resolve(string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"only local references (#/...) are supported, not '{reference}'");
        }
        var node = _root;
        foreach (var part in reference[2..].Split('/'))
        {
            if (!node.TryGetProperty(part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal), out node))
            {
                throw new InvalidOperationException($"'{reference}' does not resolve in the schema");
            }
        }
        return node;
    }

    private static void CheckKeywords(JsonElement schema, string path)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var member in schema.EnumerateObject())
        {
            if (!Annotations.Contains(member.Name) && !Implemented.Contains(member.Name))
            {
                throw new InvalidOperationException($"the schema uses '{member.Name}' at {path}, which this validator does not implement: extend ContractSchema before relying on it");
            }
            if (member.Name == "format" && member.Value.GetString() != "date-time")
            {
                throw new InvalidOperationException($"the schema uses format '{member.Value.GetString()}' at {path}, which this validator does not check");
            }
        }
        foreach (var child in new[] { "properties", "$defs" })
        {
            if (schema.TryGetProperty(child, out var map))
            {
                foreach (var member in map.EnumerateObject())
                {
                    CheckKeywords(member.Value, $"{path}/{child}/{member.Name}");
                }
            }
        }
        foreach (var child in new[] { "items", "additionalProperties" })
        {
            if (schema.TryGetProperty(child, out var sub))
            {
                CheckKeywords(sub, $"{path}/{child}");
            }
        }
    }
}
