using System.Text.Json;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Rewrites a request body, already parsed as JSON, before Google.Protobuf's JsonParser reads it,
/// walking it with the request's descriptors. It finds unknown fields and keys given twice with their
/// full path (so the error names "page.sizee", not just "sizee") and quotes integer literals of 64-bit
/// integer fields: JsonParser reads JSON numbers as doubles, which would silently round values above
/// 2^53, while a quoted integer is parsed exactly. Everything else is copied as is, for JsonParser to judge.
/// </summary>
/// <remarks>
/// A key given twice in one object (a field, also once by its proto and once by its JSON name, a map
/// key, a Struct key) is an error: RFC 8259 leaves what it means to the receiver, and JsonParser would
/// keep the last one while another reader of the same body may keep the first. The walk ends once
/// <see cref="RequestViolations"/> holds all the violations one error lists and has found another.
/// </remarks>
internal sealed class JsonBodyNormalizer(JsonTypeResolver types)
{
    private const string DuplicateKey = "given more than once in the same JSON object";

    public void WriteMessage(Utf8JsonWriter writer, JsonElement element, MessageDescriptor descriptor, string path, RequestViolations violations)
    {
        if (descriptor.FullName == Any.Descriptor.FullName && element.ValueKind == JsonValueKind.Object)
        {
            WriteAny(writer, element, path, violations);
            return;
        }
        if (element.ValueKind != JsonValueKind.Object || WellKnownTypeJson.HasSpecialForm(descriptor))
        {
            if (descriptor.FullName is "google.protobuf.Int64Value" or "google.protobuf.UInt64Value")
            {
                WriteScalar(writer, element, is64Bit: true);
                return;
            }
            WriteAsIs(writer, element, WithoutDot(path), violations);
            return;
        }
        writer.WriteStartObject();
        var seen = new HashSet<FieldDescriptor>();
        foreach (var property in element.EnumerateObject())
        {
            if (violations.CheckingStopped)
            {
                break;
            }
            var field = FindField(descriptor, property.Name);
            if (field is null)
            {
                violations.Add(path + EchoedValue.Cap(property.Name), $"unknown field: {descriptor.FullName} has no field '{EchoedValue.Cap(property.Name)}'");
                continue;
            }
            if (!seen.Add(field))
            {
                violations.Add(path + field.Name, DuplicateKey);
                continue;
            }
            writer.WritePropertyName(property.Name);
            WriteFieldValue(writer, property.Value, field, path + field.Name, violations);
        }
        writer.WriteEndObject();
    }

    public void WriteFieldValue(Utf8JsonWriter writer, JsonElement value, FieldDescriptor field, string path, RequestViolations violations)
    {
        if (field.IsMap && value.ValueKind == JsonValueKind.Object)
        {
            var item = field.MessageType.FindFieldByNumber(2);
            writer.WriteStartObject();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in value.EnumerateObject())
            {
                if (violations.CheckingStopped)
                {
                    break;
                }
                if (!keys.Add(entry.Name))
                {
                    violations.Add($"{path}[{EchoedValue.Cap(entry.Name)}]", DuplicateKey);
                    continue;
                }
                writer.WritePropertyName(entry.Name);
                WriteSingle(writer, entry.Value, item, $"{path}[{EchoedValue.Cap(entry.Name)}]", violations);
            }
            writer.WriteEndObject();
        }
        else if (field.IsRepeated && !field.IsMap && value.ValueKind == JsonValueKind.Array)
        {
            writer.WriteStartArray();
            var i = 0;
            foreach (var element in value.EnumerateArray())
            {
                if (violations.CheckingStopped)
                {
                    break;
                }
                WriteSingle(writer, element, field, $"{path}[{i++}]", violations);
            }
            writer.WriteEndArray();
        }
        else if (field.IsRepeated)
        {
            WriteAsIs(writer, value, path, violations);
        }
        else
        {
            WriteSingle(writer, value, field, path, violations);
        }
    }

    /// <summary>JsonParser accepts proto names and lowerCamel JSON names.</summary>
    public static FieldDescriptor? FindField(MessageDescriptor descriptor, string name) =>
        descriptor.FindFieldByName(name) ?? descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name);

    private void WriteSingle(Utf8JsonWriter writer, JsonElement value, FieldDescriptor field, string path, RequestViolations violations)
    {
        switch (field.FieldType)
        {
            case FieldType.Message when value.ValueKind != JsonValueKind.Null:
                WriteMessage(writer, value, field.MessageType, path + ".", violations);
                break;
            case FieldType.Enum when value.ValueKind == JsonValueKind.Number:
                // JsonParser keeps any number of an open proto3 enum; one the enum does not define is reported.
                if (!value.TryGetInt32(out var number) || field.EnumType.FindValueByNumber(number) is null)
                {
                    violations.Add(path, $"{EchoedValue.Cap(value.GetRawText())} is not a value of {field.EnumType.Name}; use one of: "
                        + string.Join(", ", field.EnumType.Values.Take(12).Select(v => v.Name)));
                }
                value.WriteTo(writer);
                break;
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64:
                WriteScalar(writer, value, is64Bit: true);
                break;
            default:
                WriteAsIs(writer, value, path, violations);
                break;
        }
    }

    /// <summary>Copies a value JsonParser reads on its own (a Struct, a Value, a scalar), after checking its objects for keys given twice.</summary>
    private static void WriteAsIs(Utf8JsonWriter writer, JsonElement value, string path, RequestViolations violations)
    {
        FindDuplicateKeys(value, path, violations);
        value.WriteTo(writer);
    }

    private static string WithoutDot(string messagePath) => messagePath.EndsWith('.') ? messagePath[..^1] : messagePath;

    /// <summary>Struct keys are named as the registry names metadata entries: "metadata.a.b", "metadata.list[0]".</summary>
    private static void FindDuplicateKeys(JsonElement value, string path, RequestViolations violations)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in value.EnumerateObject())
            {
                if (violations.CheckingStopped)
                {
                    return;
                }
                var name = EchoedValue.Cap(property.Name);
                var at = path.Length == 0 ? name : path + "." + name;
                if (!keys.Add(property.Name))
                {
                    violations.Add(at, DuplicateKey);
                    continue;
                }
                FindDuplicateKeys(property.Value, at, violations);
            }
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (violations.CheckingStopped)
                {
                    return;
                }
                FindDuplicateKeys(item, $"{path}[{i++}]", violations);
            }
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, JsonElement value, bool is64Bit)
    {
        if (is64Bit && value.ValueKind == JsonValueKind.Number && IsPlainInteger(value.GetRawText()))
        {
            writer.WriteStringValue(value.GetRawText());
        }
        else
        {
            value.WriteTo(writer);
        }
    }

    private static bool IsPlainInteger(string text)
    {
        var digits = text.StartsWith('-') ? text.AsSpan(1) : text.AsSpan();
        return digits.Length > 0 && !digits.ContainsAnyExceptInRange('0', '9');
    }

    private void WriteAny(Utf8JsonWriter writer, JsonElement element, string path, RequestViolations violations)
    {
        var typeUrl = element.TryGetProperty("@type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
        var descriptor = typeUrl is null ? null : types.Registry.Find(Any.GetTypeName(typeUrl));
        if (descriptor is null)
        {
            WriteAsIs(writer, element, WithoutDot(path), violations); // JsonParser names the missing or unknown type
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("@type", typeUrl);
        var special = WellKnownTypeJson.HasSpecialForm(descriptor);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (violations.CheckingStopped)
            {
                break;
            }
            var field = special ? null : FindField(descriptor, property.Name);
            if (!seen.Add(field?.Name ?? property.Name))
            {
                violations.Add(path + (field?.Name ?? EchoedValue.Cap(property.Name)), DuplicateKey);
                continue;
            }
            if (property.Name == "@type")
            {
                continue;
            }
            if (special && property.Name == "value")
            {
                writer.WritePropertyName("value");
                WriteMessage(writer, property.Value, descriptor, path + "value.", violations);
                continue;
            }
            if (field is null)
            {
                violations.Add(path + EchoedValue.Cap(property.Name), $"unknown field: {descriptor.FullName} has no field '{EchoedValue.Cap(property.Name)}'");
                continue;
            }
            writer.WritePropertyName(property.Name);
            WriteFieldValue(writer, property.Value, field, path + field.Name, violations);
        }
        writer.WriteEndObject();
    }
}
