using System.Collections;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Writes messages as JSON, driven by their descriptors. It differs from Google.Protobuf's
/// JsonFormatter where this API's REST contract does: field names are the proto (snake_case) names,
/// 64-bit integers are JSON numbers, and every field without presence is written even when it holds
/// its default (0, "", false, [], {}). Fields with presence (message fields, oneof members, proto3
/// <c>optional</c>) are written only when set. Enums are written by name (by number when unknown).
/// </summary>
internal sealed class ProtoJsonWriter(JsonTypeResolver types)
{
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        // Responses are application/json, never HTML: keep non-ASCII text readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public void WriteMessage(Utf8JsonWriter writer, IMessage message)
    {
        if (WellKnownTypeJson.TryWrite(this, writer, message))
        {
            return;
        }
        writer.WriteStartObject();
        WriteFields(writer, message);
        writer.WriteEndObject();
    }

    /// <summary>Writes the value of one field of a message (a whole array or object for repeated and map fields).</summary>
    public void WriteFieldValue(Utf8JsonWriter writer, FieldDescriptor field, object? value)
    {
        if (field.IsMap)
        {
            var key = field.MessageType.FindFieldByNumber(1);
            var item = field.MessageType.FindFieldByNumber(2);
            writer.WriteStartObject();
            foreach (DictionaryEntry entry in (IDictionary)value!)
            {
                writer.WritePropertyName(MapKey(key, entry.Key));
                WriteSingle(writer, item, entry.Value);
            }
            writer.WriteEndObject();
        }
        else if (field.IsRepeated)
        {
            writer.WriteStartArray();
            foreach (var element in (IEnumerable)value!)
            {
                WriteSingle(writer, field, element);
            }
            writer.WriteEndArray();
        }
        else
        {
            WriteSingle(writer, field, value);
        }
    }

    public void WriteSingle(Utf8JsonWriter writer, FieldDescriptor field, object? value)
    {
        switch (field.FieldType)
        {
            case FieldType.Message or FieldType.Group:
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else if (value is IMessage message)
                {
                    WriteMessage(writer, message);
                }
                else
                {
                    // A wrapper field: generated C# holds it as the nullable primitive itself (long?, string ...).
                    WriteSingle(writer, field.MessageType.FindFieldByNumber(1), value);
                }
                break;
            case FieldType.Enum:
                WriteEnum(writer, field.EnumType, Convert.ToInt32(value, CultureInfo.InvariantCulture));
                break;
            case FieldType.Bool:
                writer.WriteBooleanValue((bool)value!);
                break;
            case FieldType.String:
                writer.WriteStringValue((string)value!);
                break;
            case FieldType.Bytes:
                writer.WriteBase64StringValue(((ByteString)value!).Span);
                break;
            case FieldType.Double:
                WriteDouble(writer, (double)value!);
                break;
            case FieldType.Float:
                WriteFloat(writer, (float)value!);
                break;
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                writer.WriteNumberValue((int)value!);
                break;
            case FieldType.UInt32 or FieldType.Fixed32:
                writer.WriteNumberValue((uint)value!);
                break;
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64:
                writer.WriteNumberValue((long)value!);
                break;
            case FieldType.UInt64 or FieldType.Fixed64:
                writer.WriteNumberValue((ulong)value!);
                break;
            default:
                throw new InvalidOperationException($"Field '{field.FullName}' has unsupported type {field.FieldType}.");
        }
    }

    /// <summary>
    /// An Any as <c>{"@type": url, ...fields}</c>, or <c>{"@type": url, "value": ...}</c> for a payload
    /// with a special JSON form. A payload whose type no bound service's files define, or whose bytes
    /// are not that type, is written as <c>{"@type": url, "value": "&lt;base64 of its bytes&gt;"}</c>:
    /// still visible, where proto3's JSON mapping would fail the whole response (an Any can come from
    /// a peer, such as the details of a node's NACK, and must never make a listing unreadable).
    /// </summary>
    public void WriteAny(Utf8JsonWriter writer, Any any)
    {
        var descriptor = types.Registry.Find(Any.GetTypeName(any.TypeUrl));
        IMessage? payload = null;
        try
        {
            payload = descriptor?.Parser.ParseFrom(any.Value);
        }
        catch (InvalidProtocolBufferException)
        {
            // Written as its bytes, below.
        }
        writer.WriteStartObject();
        writer.WriteString("@type", any.TypeUrl);
        if (payload is null)
        {
            writer.WriteBase64String("value", any.Value.Span);
        }
        else if (WellKnownTypeJson.HasSpecialForm(descriptor!))
        {
            writer.WritePropertyName("value");
            WriteMessage(writer, payload);
        }
        else
        {
            WriteFields(writer, payload);
        }
        writer.WriteEndObject();
    }

    private void WriteFields(Utf8JsonWriter writer, IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (!IsWritten(field, message))
            {
                continue;
            }
            writer.WritePropertyName(JsonFieldName(field));
            WriteFieldValue(writer, field, field.Accessor.GetValue(message));
        }
    }

    private static bool IsWritten(FieldDescriptor field, IMessage message)
    {
        if (field.RealContainingOneof is { } oneof)
        {
            return oneof.Accessor.GetCaseFieldDescriptor(message) == field;
        }
        if (field.IsRepeated)
        {
            return true;
        }
        if (field.FieldType is FieldType.Message or FieldType.Group)
        {
            return field.Accessor.GetValue(message) is not null;
        }
        return !field.HasPresence || field.Accessor.HasValue(message);
    }

    /// <summary>
    /// The proto field name, except where the C# types lag the .proto: Google.Api.CommonProtos 2.0.0
    /// calls google.rpc.ErrorInfo field 1 "type", today's error_details.proto calls it "reason".
    /// </summary>
    private static string JsonFieldName(FieldDescriptor field) =>
        field.FieldNumber == 1 && field.ContainingType.FullName == "google.rpc.ErrorInfo" ? "reason" : field.Name;

    private static void WriteEnum(Utf8JsonWriter writer, EnumDescriptor type, int number)
    {
        if (type.FullName == "google.protobuf.NullValue")
        {
            writer.WriteNullValue();
            return;
        }
        if (type.FindValueByNumber(number) is { } value)
        {
            writer.WriteStringValue(value.Name);
        }
        else
        {
            writer.WriteNumberValue(number);
        }
    }

    // proto3 JSON writes non-finite floating point values as the strings "NaN", "Infinity", "-Infinity".
    private static void WriteDouble(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteStringValue(float.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static string MapKey(FieldDescriptor key, object value) => value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };
}
