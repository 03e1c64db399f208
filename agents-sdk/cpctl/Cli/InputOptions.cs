using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Agents;

namespace ControlPlane.Cli;

/// <summary>
/// An action's input properties as flags, read from its JSON Schema (the one the MCP server shows),
/// so the CLI and the tools cannot disagree: <c>image</c> is <c>--image</c>, a boolean a switch,
/// a list a repeatable flag (<c>--instance-id a --instance-id b</c>), a map of numbers repeatable
/// <c>key=value</c> (<c>--weight i1=2</c>), and anything nested JSON. Positional properties are
/// also arguments (<c>cpctl lb-policy set img.video.svc</c>).
/// </summary>
internal sealed class InputOptions
{
    private readonly List<Flag> _flags = [];
    private readonly List<(string Property, Argument Argument, Flag Flag)> _positionals = [];
    private readonly HashSet<string> _required;

    public InputOptions(AgentAction action, Command command)
    {
        var schema = action.InputSchema;
        _required = schema.TryGetProperty("required", out var required) ? [.. required.EnumerateArray().Select(r => r.GetString()!)] : [];
        if (!schema.TryGetProperty("properties", out var properties))
        {
            return;
        }
        foreach (var property in properties.EnumerateObject())
        {
            var kind = KindOf(property.Value);
            var flag = new Flag(property.Name, kind, property.Value, Create(property.Name, kind, property.Value));
            _flags.Add(flag);
            command.Options.Add(flag.Option);
            if (action.Positionals.Contains(property.Name))
            {
                Argument argument = kind == Kind.List
                    ? new Argument<string[]>(property.Name) { Arity = ArgumentArity.ZeroOrMore, Description = Describe(property.Value) }
                    : new Argument<string>(property.Name) { Arity = ArgumentArity.ZeroOrOne, Description = Describe(property.Value) };
                _positionals.Add((property.Name, argument, flag));
                command.Arguments.Add(argument);
            }
        }
    }

    /// <summary>The input: the JSON given (file, then --input), then each flag given; <see cref="UsageException"/> for bad values or missing required ones.</summary>
    public JsonObject Read(ParseResult result, JsonObject input)
    {
        foreach (var (property, argument, flag) in _positionals)
        {
            var values = argument switch
            {
                Argument<string[]> list => result.GetValue(list) ?? [],
                Argument<string> one => result.GetValue(one) is { } v ? [v] : [],
                _ => [],
            };
            if (values.Length == 0)
            {
                continue;
            }
            if (result.GetResult(flag.Option) is { Implicit: false })
            {
                throw new UsageException($"{property} is given twice: as an argument and as {flag.Option.Name}");
            }
            input[property] = flag.Kind == Kind.List ? new JsonArray([.. values.Select(v => Convert(flag, ItemSchema(flag.Schema), v))]) : Convert(flag, flag.Schema, values[0]);
        }
        foreach (var flag in _flags)
        {
            if (result.GetResult(flag.Option) is not { Implicit: false })
            {
                continue;
            }
            input[flag.Property] = flag.Kind switch
            {
                Kind.Switch => result.GetValue((Option<bool>)flag.Option),
                Kind.List => new JsonArray([.. (result.GetValue((Option<string[]>)flag.Option) ?? []).Select(v => Convert(flag, ItemSchema(flag.Schema), v))]),
                Kind.Map => Map(flag, result.GetValue((Option<string[]>)flag.Option) ?? []),
                Kind.Json => ParseJson(flag, result.GetValue((Option<string>)flag.Option)!),
                _ => Convert(flag, flag.Schema, result.GetValue((Option<string>)flag.Option)!),
            };
        }
        var missing = _required.Where(r => input[r] is null).ToList();
        if (missing.Count > 0)
        {
            throw new UsageException("missing " + string.Join(", ", missing.Select(m => _positionals.Any(p => p.Property == m) ? $"<{m}>" : FlagName(m))));
        }
        return input;
    }

    private static Option Create(string property, Kind kind, JsonElement schema)
    {
        var name = FlagName(property);
        var description = Describe(schema);
        // A list or map is repeated one item at a time: --weight i1=2 --weight i2=1.
        string[] aliases = kind is Kind.List or Kind.Map && name.EndsWith('s') ? [name[..^1]] : [];
        Option option = kind switch
        {
            // A switch that is on by default says how to turn it off.
            Kind.Switch => new Option<bool>(name, aliases) { Description = description + (description.Contains("(default true)", StringComparison.Ordinal) ? $" Turn off with {name} false." : "") },
            Kind.List or Kind.Map => new Option<string[]>(name, aliases) { Description = description + (kind == Kind.Map ? " Repeat KEY=VALUE." : " Repeatable."), AllowMultipleArgumentsPerToken = false },
            Kind.Json => new Option<string>(name, aliases) { Description = description + " (JSON)" },
            _ => new Option<string>(name, aliases) { Description = description },
        };
        if (kind == Kind.Scalar && schema.TryGetProperty("enum", out var values))
        {
            ((Option<string>)option).AcceptOnlyFromAmong([.. values.EnumerateArray().Select(v => v.GetString()!)]);
        }
        return option;
    }

    private static string FlagName(string property) => "--" + property.Replace('_', '-');

    private static string Describe(JsonElement schema) => schema.TryGetProperty("description", out var d) ? d.GetString() ?? "" : "";

    private static Kind KindOf(JsonElement schema)
    {
        var types = Types(schema);
        if (types.Contains("boolean"))
        {
            return Kind.Switch;
        }
        if (types.Contains("array"))
        {
            return schema.TryGetProperty("items", out var items) && IsScalar(items) ? Kind.List : Kind.Json;
        }
        if (types.Contains("object"))
        {
            return schema.TryGetProperty("additionalProperties", out var values) && values.ValueKind == JsonValueKind.Object && IsScalar(values) && !schema.TryGetProperty("properties", out _) ? Kind.Map : Kind.Json;
        }
        return types.Count == 0 ? Kind.Json : Kind.Scalar;
    }

    private static bool IsScalar(JsonElement schema) => Types(schema).Any(t => t is "string" or "integer" or "number");

    private static List<string> Types(JsonElement schema) => !schema.TryGetProperty("type", out var type) ? []
        : type.ValueKind == JsonValueKind.Array ? [.. type.EnumerateArray().Select(t => t.GetString()!).Where(t => t != "null")]
        : [type.GetString()!];

    private static JsonElement ItemSchema(JsonElement schema) => schema.TryGetProperty("items", out var items) ? items : schema;

    private static JsonNode Convert(Flag flag, JsonElement schema, string text)
    {
        var types = Types(schema);
        if (types.Contains("integer"))
        {
            return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? JsonValue.Create(n)
                : throw new UsageException($"{flag.Option.Name}: '{text}' is not a whole number");
        }
        if (types.Contains("number"))
        {
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? JsonValue.Create(d)
                : throw new UsageException($"{flag.Option.Name}: '{text}' is not a number");
        }
        return JsonValue.Create(text);
    }

    private static JsonObject Map(Flag flag, string[] pairs)
    {
        var map = new JsonObject();
        var values = flag.Schema.GetProperty("additionalProperties");
        foreach (var pair in pairs)
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0)
            {
                throw new UsageException($"{flag.Option.Name}: '{pair}' is not KEY=VALUE");
            }
            map[pair[..at]] = Convert(flag, values, pair[(at + 1)..]);
        }
        return map;
    }

    private static JsonNode? ParseJson(Flag flag, string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new UsageException($"{flag.Option.Name}: not JSON: {ex.Message}");
        }
    }

    private enum Kind
    {
        Scalar,
        Switch,
        List,
        Map,
        Json,
    }

    private sealed record Flag(string Property, Kind Kind, JsonElement Schema, Option Option);
}

/// <summary>The command line is wrong (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
