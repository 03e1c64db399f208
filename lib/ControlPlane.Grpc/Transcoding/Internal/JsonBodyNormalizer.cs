using System.Text.Json;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Rewrites a request body, already parsed as JSON, before Google.Protobuf's JsonParser reads it,
/// walking it with the request's descriptors. It finds unknown fields with their full path (so the
/// error names "page.sizee", not just "sizee") and quotes integer literals of 64-bit integer fields:
/// JsonParser reads JSON numbers as doubles, which would silently round values above 2^53, while a
/// quoted integer is parsed exactly. Everything else is copied as is, for JsonParser to judge.
/// </summary>
internal sealed class JsonBodyNormalizer(JsonTypeResolver types)
{
    public void WriteMessage(Utf8JsonWriter writer, JsonElement element, MessageDescriptor descriptor, string path, List<FieldViolation> unknown)
    {
        if (descriptor.FullName == Any.Descriptor.FullName && element.ValueKind == JsonValueKind.Object)
        {
            WriteAny(writer, element, path, unknown);
            return;
        }
        if (element.ValueKind != JsonValueKind.Object || WellKnownTypeJson.HasSpecialForm(descriptor))
        {
            if (descriptor.FullName is "google.protobuf.Int64Value" or "google.protobuf.UInt64Value")
            {
                WriteScalar(writer, element, is64Bit: true);
                return;
            }
            element.WriteTo(writer);
            return;
        }
        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            var field = FindField(descriptor, property.Name);
            if (field is null)
            {
                unknown.Add(new FieldViolation(path + property.Name, $"unknown field: {descriptor.FullName} has no field '{property.Name}'"));
                continue;
            }
            writer.WritePropertyName(property.Name);
            WriteFieldValue(writer, property.Value, field, path + field.Name, unknown);
        }
        writer.WriteEndObject();
    }

    public void WriteFieldValue(Utf8JsonWriter writer, JsonElement value, FieldDescriptor field, string path, List<FieldViolation> unknown)
    {
        if (field.IsMap && value.ValueKind == JsonValueKind.Object)
        {
            var item = field.MessageType.FindFieldByNumber(2);
            writer.WriteStartObject();
            foreach (var entry in value.EnumerateObject())
            {
                writer.WritePropertyName(entry.Name);
                WriteSingle(writer, entry.Value, item, $"{path}[{entry.Name}]", unknown);
            }
            writer.WriteEndObject();
        }
        else if (field.IsRepeated && !field.IsMap && value.ValueKind == JsonValueKind.Array)
        {
            writer.WriteStartArray();
            var i = 0;
            foreach (var element in value.EnumerateArray())
            {
                WriteSingle(writer, element, field, $"{path}[{i++}]", unknown);
            }
            writer.WriteEndArray();
        }
        else if (field.IsRepeated)
        {
            value.WriteTo(writer);
        }
        else
        {
            WriteSingle(writer, value, field, path, unknown);
        }
    }

    /// <summary>JsonParser accepts proto names and lowerCamel JSON names.</summary>
    public static FieldDescriptor? FindField(MessageDescriptor descriptor, string name) =>
        descriptor.FindFieldByName(name) ?? descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name);

    private void WriteSingle(Utf8JsonWriter writer, JsonElement value, FieldDescriptor field, string path, List<FieldViolation> unknown)
    {
        switch (field.FieldType)
        {
            case FieldType.Message when value.ValueKind != JsonValueKind.Null:
                WriteMessage(writer, value, field.MessageType, path + ".", unknown);
                break;
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64:
                WriteScalar(writer, value, is64Bit: true);
                break;
            default:
                value.WriteTo(writer);
                break;
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

    private void WriteAny(Utf8JsonWriter writer, JsonElement element, string path, List<FieldViolation> unknown)
    {
        var typeUrl = element.TryGetProperty("@type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : null;
        var descriptor = typeUrl is null ? null : types.Registry.Find(Any.GetTypeName(typeUrl));
        if (descriptor is null)
        {
            element.WriteTo(writer); // JsonParser names the missing or unknown type
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("@type", typeUrl);
        var special = WellKnownTypeJson.HasSpecialForm(descriptor);
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name == "@type")
            {
                continue;
            }
            if (special && property.Name == "value")
            {
                writer.WritePropertyName("value");
                WriteMessage(writer, property.Value, descriptor, path + "value.", unknown);
                continue;
            }
            var field = special ? null : FindField(descriptor, property.Name);
            if (field is null)
            {
                unknown.Add(new FieldViolation(path + property.Name, $"unknown field: {descriptor.FullName} has no field '{property.Name}'"));
                continue;
            }
            writer.WritePropertyName(property.Name);
            WriteFieldValue(writer, property.Value, field, path + field.Name, unknown);
        }
        writer.WriteEndObject();
    }
}
