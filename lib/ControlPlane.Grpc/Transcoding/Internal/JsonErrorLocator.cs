using System.Buffers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Finds which field of a body JsonParser rejected, so the error can name it in a BadRequest
/// violation: JsonParser's messages ("Invalid numeric value for type: abc") do not say where. Each
/// property is re-parsed alone, descending into the one that fails (into map entries and array
/// items too). Runs only on the error path.
/// </summary>
internal static class JsonErrorLocator
{
    public static FieldViolation? Locate(JsonParser parser, JsonElement element, MessageDescriptor descriptor, string path)
    {
        if (element.ValueKind != JsonValueKind.Object || WellKnownTypeJson.HasSpecialForm(descriptor))
        {
            return null;
        }
        foreach (var property in element.EnumerateObject())
        {
            var field = JsonBodyNormalizer.FindField(descriptor, property.Name);
            if (field is null || Fails(parser, descriptor, property.Name, w => property.Value.WriteTo(w)) is not { } error)
            {
                continue;
            }
            var fieldPath = path + field.Name;
            var value = property.Value;
            if (field.IsMap && value.ValueKind == JsonValueKind.Object)
            {
                var valueField = field.MessageType.FindFieldByNumber(2);
                foreach (var entry in value.EnumerateObject())
                {
                    var entryError = Fails(parser, descriptor, property.Name, w =>
                    {
                        w.WriteStartObject();
                        w.WritePropertyName(entry.Name);
                        entry.Value.WriteTo(w);
                        w.WriteEndObject();
                    });
                    if (entryError is not null)
                    {
                        var entryPath = $"{fieldPath}[{entry.Name}]";
                        return Descend(parser, valueField, entry.Value, entryPath) ?? new FieldViolation(entryPath, entryError);
                    }
                }
            }
            else if (field.IsRepeated && value.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    var itemError = Fails(parser, descriptor, property.Name, w =>
                    {
                        w.WriteStartArray();
                        item.WriteTo(w);
                        w.WriteEndArray();
                    });
                    if (itemError is not null)
                    {
                        var itemPath = $"{fieldPath}[{i}]";
                        return Descend(parser, field, item, itemPath) ?? new FieldViolation(itemPath, itemError);
                    }
                    i++;
                }
            }
            else if (!field.IsRepeated)
            {
                return Descend(parser, field, value, fieldPath) ?? new FieldViolation(fieldPath, error);
            }
            return new FieldViolation(fieldPath, error);
        }
        return null;
    }

    private static FieldViolation? Descend(JsonParser parser, FieldDescriptor field, JsonElement value, string path) =>
        field.FieldType == FieldType.Message ? Locate(parser, value, field.MessageType, path + ".") : null;

    /// <summary>Parses <c>{name: value}</c> as <paramref name="descriptor"/>; the parser's message when that fails.</summary>
    private static string? Fails(JsonParser parser, MessageDescriptor descriptor, string name, Action<Utf8JsonWriter> writeValue)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WritePropertyName(name);
            writeValue(writer);
            writer.WriteEndObject();
        }
        try
        {
            parser.Parse(Encoding.UTF8.GetString(buffer.WrittenSpan), descriptor);
            return null;
        }
        catch (Exception ex) when (JsonBodyParser.IsParseError(ex))
        {
            return ex.Message;
        }
    }
}
