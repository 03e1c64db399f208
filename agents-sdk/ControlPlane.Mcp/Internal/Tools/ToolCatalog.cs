using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ControlPlane.Mcp.Internal.Tools;

/// <summary>The host's tools, checked once when the server is built, and the subset one agent may use.</summary>
internal sealed class ToolCatalog
{
    /// <summary>The <c>approve</c> argument as a destructive tool's schema lists it.</summary>
    public const string ApproveArgument = "approve";

    public const string ApproveDescription =
        "This tool is destructive. Set true only after a human approved this exact call; without it the call is refused " +
        "(or, when the client supports elicitation, its user is asked).";

    private static readonly JsonElement EmptyObjectSchema = JsonElement.Parse("""{"type":"object"}""");

    private readonly FrozenDictionary<string, RegisteredTool> _byName;

    public ToolCatalog(IReadOnlyList<McpTool> tools)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var byName = new Dictionary<string, RegisteredTool>(StringComparer.Ordinal);
        var ordered = new List<RegisteredTool>(tools.Count);
        foreach (var tool in tools)
        {
            ArgumentNullException.ThrowIfNull(tool);
            var registered = Register(tool);
            if (!byName.TryAdd(tool.Name, registered))
            {
                throw new ArgumentException($"Two tools are named '{tool.Name}'.", nameof(tools));
            }
            ordered.Add(registered);
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
        All = ordered;
    }

    /// <summary>Every tool, in the host's order.</summary>
    public IReadOnlyList<RegisteredTool> All { get; }

    public RegisteredTool? Find(string name) => _byName.GetValueOrDefault(name);

    private static RegisteredTool Register(McpTool tool)
    {
        CheckName(tool.Name);
        if (string.IsNullOrWhiteSpace(tool.Description))
        {
            throw new ArgumentException($"Tool '{tool.Name}' has no description.");
        }
        if (tool.Handler is null)
        {
            throw new ArgumentException($"Tool '{tool.Name}' has no handler.");
        }
        if (tool.Destructive && tool.Annotations?.ReadOnly == true)
        {
            throw new ArgumentException($"Tool '{tool.Name}' cannot be both destructive and read-only.");
        }
        if (tool.OutputSchema is { } output && !IsObjectSchema(output))
        {
            throw new ArgumentException($"Tool '{tool.Name}': an output schema must be a JSON Schema object with \"type\": \"object\".");
        }

        var schema = tool.InputSchema.ValueKind == JsonValueKind.Undefined ? EmptyObjectSchema : tool.InputSchema;
        if (!IsObjectSchema(schema))
        {
            throw new ArgumentException($"Tool '{tool.Name}': the input schema must be a JSON Schema object with \"type\": \"object\" (MCP).");
        }
        if (tool.Destructive)
        {
            schema = WithApproveArgument(tool.Name, schema);
        }
        else
        {
            schema = schema.Clone();
        }

        var properties = new Dictionary<string, PropertyRule>(StringComparer.Ordinal);
        if (schema.TryGetProperty("properties", out var declared))
        {
            if (declared.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"Tool '{tool.Name}': \"properties\" must be an object.");
            }
            foreach (var property in declared.EnumerateObject())
            {
                properties[property.Name] = ReadRule(tool.Name, property);
            }
        }
        var required = new List<string>();
        if (schema.TryGetProperty("required", out var requiredElement))
        {
            if (requiredElement.ValueKind != JsonValueKind.Array || requiredElement.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
            {
                throw new ArgumentException($"Tool '{tool.Name}': \"required\" must be an array of strings.");
            }
            required.AddRange(requiredElement.EnumerateArray().Select(r => r.GetString()!));
        }
        var closed = schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.False;

        return new RegisteredTool
        {
            Tool = tool,
            InputSchema = schema,
            OutputSchema = tool.OutputSchema?.Clone(),
            Required = required,
            Properties = properties.ToFrozenDictionary(StringComparer.Ordinal),
            ClosedProperties = closed,
        };
    }

    /// <summary>MCP's tool name rules (2025-11-25): 1 to 128 characters of A-Z, a-z, 0-9, '_', '-' and '.'.</summary>
    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            throw new ArgumentException($"Tool name '{name}' is not 1 to 128 characters of A-Z, a-z, 0-9, '_', '-' and '.'.");
        }
    }

    private static bool IsObjectSchema(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object
        && schema.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String
        && type.ValueEquals("object");

    private static PropertyRule ReadRule(string tool, JsonProperty property)
    {
        if (property.Value.ValueKind != JsonValueKind.Object)
        {
            return new PropertyRule([], null);
        }
        var types = new List<string>();
        if (property.Value.TryGetProperty("type", out var type))
        {
            switch (type.ValueKind)
            {
                case JsonValueKind.String:
                    types.Add(type.GetString()!);
                    break;
                case JsonValueKind.Array when type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String):
                    types.AddRange(type.EnumerateArray().Select(t => t.GetString()!));
                    break;
                default:
                    throw new ArgumentException($"Tool '{tool}': the type of property '{property.Name}' must be a string or an array of strings.");
            }
        }
        List<JsonElement>? allowed = null;
        if (property.Value.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array)
            {
                throw new ArgumentException($"Tool '{tool}': the enum of property '{property.Name}' must be an array.");
            }
            allowed = [.. values.EnumerateArray()];
        }
        return new PropertyRule(types, allowed);
    }

    /// <summary>The host's schema plus the documented <c>approve</c> boolean (not required: a call without it gets the refusal that explains it).</summary>
    private static JsonElement WithApproveArgument(string tool, JsonElement schema)
    {
        var node = JsonNode.Parse(schema.GetRawText())!.AsObject();
        JsonObject properties;
        switch (node["properties"])
        {
            case null:
                properties = [];
                node["properties"] = properties;
                break;
            case JsonObject declaredProperties:
                properties = declaredProperties;
                break;
            default:
                throw new ArgumentException($"Tool '{tool}': \"properties\" must be an object.");
        }
        if (properties[ApproveArgument] is { } declared)
        {
            if (declared is not JsonObject declaredObject || declaredObject["type"]?.GetValueKind() != JsonValueKind.String || (string?)declaredObject["type"] != "boolean")
            {
                throw new ArgumentException($"Tool '{tool}' is destructive: its '{ApproveArgument}' argument is the approval flag and must be a boolean.");
            }
        }
        else
        {
            properties[ApproveArgument] = new JsonObject
            {
                ["type"] = "boolean",
                ["description"] = ApproveDescription,
            };
        }
        return JsonElement.Parse(node.ToJsonString());
    }
}
