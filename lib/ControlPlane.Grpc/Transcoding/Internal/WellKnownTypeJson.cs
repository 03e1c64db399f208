using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The proto3 JSON forms of the well-known types (https://protobuf.dev/programming-guides/proto3/#json):
/// Timestamp as RFC 3339 in UTC, Duration as "1.500s", FieldMask as comma-joined lowerCamel paths,
/// Struct/Value/ListValue as plain JSON, wrappers as their value (64-bit ones as numbers, like every
/// 64-bit integer here), and Any with "@type".
/// </summary>
internal static class WellKnownTypeJson
{
    // Timestamp range of the proto3 JSON mapping: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    private const long MinTimestampSeconds = -62_135_596_800;
    private const long MaxTimestampSeconds = 253_402_300_799;
    private const long MaxDurationSeconds = 315_576_000_000;

    public static bool IsWrapper(MessageDescriptor message) => message.FullName is
        "google.protobuf.DoubleValue" or "google.protobuf.FloatValue" or "google.protobuf.Int64Value" or "google.protobuf.UInt64Value"
        or "google.protobuf.Int32Value" or "google.protobuf.UInt32Value" or "google.protobuf.BoolValue" or "google.protobuf.StringValue"
        or "google.protobuf.BytesValue";

    /// <summary>Types whose JSON is not an object of their fields (inside an Any they go under "value").</summary>
    public static bool HasSpecialForm(MessageDescriptor message) =>
        IsWrapper(message) || message.FullName is "google.protobuf.Timestamp" or "google.protobuf.Duration" or "google.protobuf.FieldMask"
            or "google.protobuf.Struct" or "google.protobuf.Value" or "google.protobuf.ListValue" or "google.protobuf.Any";

    /// <summary>Writes <paramref name="message"/> in its special form; false when it has none.</summary>
    public static bool TryWrite(ProtoJsonWriter json, Utf8JsonWriter writer, IMessage message)
    {
        switch (message)
        {
            case Timestamp t:
                writer.WriteStringValue(FormatTimestamp(t.Seconds, t.Nanos));
                return true;
            case Duration d:
                writer.WriteStringValue(FormatDuration(d.Seconds, d.Nanos));
                return true;
            case FieldMask m:
                writer.WriteStringValue(string.Join(',', m.Paths.Select(ToLowerCamelPath)));
                return true;
            case Struct s:
                WriteStruct(writer, s);
                return true;
            case Value v:
                WriteValue(writer, v);
                return true;
            case ListValue l:
                WriteList(writer, l);
                return true;
            case Any a:
                json.WriteAny(writer, a);
                return true;
        }
        if (IsWrapper(message.Descriptor))
        {
            var field = message.Descriptor.FindFieldByNumber(1);
            json.WriteSingle(writer, field, field.Accessor.GetValue(message));
            return true;
        }
        return false;
    }

    public static string FormatTimestamp(long seconds, int nanos)
    {
        if (seconds < MinTimestampSeconds || seconds > MaxTimestampSeconds || nanos < 0 || nanos >= 1_000_000_000)
        {
            throw new InvalidOperationException($"Timestamp ({seconds}s, {nanos}ns) is outside the range proto3 JSON can represent.");
        }
        var time = DateTime.UnixEpoch.AddSeconds(seconds);
        return time.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture) + Fraction(nanos) + "Z";
    }

    public static string FormatDuration(long seconds, int nanos)
    {
        if (Math.Abs(seconds) > MaxDurationSeconds || Math.Abs(nanos) >= 1_000_000_000 || (seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0))
        {
            throw new InvalidOperationException($"Duration ({seconds}s, {nanos}ns) is not a valid google.protobuf.Duration.");
        }
        var sign = seconds < 0 || nanos < 0 ? "-" : "";
        return sign + Math.Abs(seconds).ToString(CultureInfo.InvariantCulture) + Fraction(Math.Abs(nanos)) + "s";
    }

    /// <summary>proto3 JSON: 0, 3, 6 or 9 fractional digits, as few as the value needs.</summary>
    private static string Fraction(int nanos) => nanos switch
    {
        0 => "",
        _ when nanos % 1_000_000 == 0 => "." + (nanos / 1_000_000).ToString("D3", CultureInfo.InvariantCulture),
        _ when nanos % 1_000 == 0 => "." + (nanos / 1_000).ToString("D6", CultureInfo.InvariantCulture),
        _ => "." + nanos.ToString("D9", CultureInfo.InvariantCulture),
    };

    private static string ToLowerCamelPath(string path) =>
        string.Join('.', path.Split('.').Select(step =>
        {
            var parts = step.Split('_');
            return parts[0] + string.Concat(parts.Skip(1).Select(p => p.Length == 0 ? "" : char.ToUpperInvariant(p[0]) + p[1..]));
        }));

    private static void WriteStruct(Utf8JsonWriter writer, Struct s)
    {
        writer.WriteStartObject();
        foreach (var (key, value) in s.Fields)
        {
            writer.WritePropertyName(key);
            WriteValue(writer, value);
        }
        writer.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter writer, ListValue list)
    {
        writer.WriteStartArray();
        foreach (var value in list.Values)
        {
            WriteValue(writer, value);
        }
        writer.WriteEndArray();
    }

    private static void WriteValue(Utf8JsonWriter writer, Value value)
    {
        switch (value.KindCase)
        {
            case Value.KindOneofCase.NumberValue when !double.IsFinite(value.NumberValue):
                // proto3 JSON has no form for a non-finite Value number (JSON numbers cannot be NaN).
                throw new InvalidOperationException("A google.protobuf.Value holds a non-finite number, which JSON cannot represent.");
            case Value.KindOneofCase.NumberValue:
                writer.WriteNumberValue(value.NumberValue);
                break;
            case Value.KindOneofCase.StringValue:
                writer.WriteStringValue(value.StringValue);
                break;
            case Value.KindOneofCase.BoolValue:
                writer.WriteBooleanValue(value.BoolValue);
                break;
            case Value.KindOneofCase.StructValue:
                WriteStruct(writer, value.StructValue);
                break;
            case Value.KindOneofCase.ListValue:
                WriteList(writer, value.ListValue);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }
}
