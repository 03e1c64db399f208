using System.Globalization;
using System.Numerics;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Converts the text of a path variable or query parameter to a field's CLR value: numbers in
/// invariant culture with range checks, bools, enums by name or number, bytes as (URL-safe) base64.
/// Message fields are the well-known types with a string JSON form (wrappers, Timestamp, Duration,
/// FieldMask), parsed as proto3 JSON.
/// </summary>
internal static class FieldValueParser
{
    public static bool TryParse(FieldDescriptor field, string text, JsonParser json, out object value, out string error)
    {
        value = null!;
        error = "";
        var ok = field.FieldType switch
        {
            FieldType.String => Set(text, out value),
            FieldType.Bool => TryBool(text, out value),
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => TryInteger<int>(text, out value),
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => TryInteger<long>(text, out value),
            FieldType.UInt32 or FieldType.Fixed32 => TryInteger<uint>(text, out value),
            FieldType.UInt64 or FieldType.Fixed64 => TryInteger<ulong>(text, out value),
            FieldType.Double => TryDouble(text, out value),
            FieldType.Float => TryFloat(text, out value),
            FieldType.Bytes => TryBytes(text, out value),
            FieldType.Enum => TryEnum(field.EnumType, text, out value),
            FieldType.Message => TryWellKnown(field.MessageType, text, json, out value),
            _ => false,
        };
        if (!ok)
        {
            error = Describe(field, text);
        }
        return ok;
    }

    /// <summary>Message types a single text value can set: those whose proto3 JSON form is a string or a scalar.</summary>
    public static bool IsTextMessage(MessageDescriptor message) =>
        message.FullName is "google.protobuf.Timestamp" or "google.protobuf.Duration" or "google.protobuf.FieldMask"
        || WellKnownTypeJson.IsWrapper(message);

    private static bool Set(string text, out object value)
    {
        value = text;
        return true;
    }

    private static bool TryBool(string text, out object value)
    {
        value = false;
        if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text == "1")
        {
            value = true;
            return true;
        }
        return text.Equals("false", StringComparison.OrdinalIgnoreCase) || text == "0";
    }

    private static bool TryInteger<T>(string text, out object value)
        where T : struct, IBinaryInteger<T>
    {
        var ok = T.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n);
        value = n;
        return ok;
    }

    private static bool TryDouble(string text, out object value)
    {
        var ok = TrySpecial(text, out var special) || (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out special) && double.IsFinite(special));
        value = special;
        return ok;
    }

    private static bool TryFloat(string text, out object value)
    {
        var ok = TrySpecial(text, out var special) || (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out special) && Math.Abs(special) <= float.MaxValue);
        value = (float)special;
        return ok;
    }

    private static bool TrySpecial(string text, out double value)
    {
        value = text switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => 0,
        };
        return text is "NaN" or "Infinity" or "-Infinity";
    }

    private static bool TryBytes(string text, out object value)
    {
        value = ByteString.Empty;
        var normalized = text.Replace('-', '+').Replace('_', '/');
        normalized = normalized.PadRight(normalized.Length + ((4 - (normalized.Length % 4)) % 4), '=');
        var buffer = new byte[normalized.Length];
        if (!Convert.TryFromBase64String(normalized, buffer, out var written))
        {
            return false;
        }
        value = ByteString.CopyFrom(buffer, 0, written);
        return true;
    }

    private static bool TryEnum(EnumDescriptor type, string text, out object value)
    {
        value = null!;
        var number = type.FindValueByName(text)?.Number;
        // A number names a value only when the enum defines it: proto3 enums are open on the wire, but a
        // number no client could have meant is a mistake to report, not a value to pass on.
        if (number is null && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && type.FindValueByNumber(n) is not null)
        {
            number = n;
        }
        if (number is null)
        {
            return false;
        }
        value = Enum.ToObject(type.ClrType, number.Value);
        return true;
    }

    private static bool TryWellKnown(MessageDescriptor message, string text, JsonParser json, out object value)
    {
        value = null!;
        if (WellKnownTypeJson.IsWrapper(message))
        {
            // Generated C# exposes a wrapper field as its nullable primitive (long?), so the value is the primitive.
            return TryParse(message.FindFieldByNumber(1), text, json, out value, out _);
        }
        if (!IsTextMessage(message))
        {
            return false;
        }
        try
        {
            value = json.Parse(System.Text.Json.JsonSerializer.Serialize(text), message);
            return true;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            return false;
        }
    }

    private static string Describe(FieldDescriptor field, string text)
    {
        var shown = EchoedValue.Cap(text);
        return field.FieldType switch
        {
            FieldType.Enum => $"'{shown}' is not a value of {field.EnumType.Name}; use one of: " +
                string.Join(", ", field.EnumType.Values.Take(12).Select(v => v.Name)),
            FieldType.Message when !IsTextMessage(field.MessageType) => $"'{field.Name}' is a message ({field.MessageType.FullName}); set its fields one by one, as '{field.Name}.<field>'",
            FieldType.Message => $"'{shown}' is not a valid {field.MessageType.FullName}",
            FieldType.Bytes => $"'{shown}' is not valid base64",
            FieldType.Bool => $"'{shown}' is not a bool; use true or false",
            _ => $"'{shown}' is not a valid {field.FieldType.ToString().ToLowerInvariant()}",
        };
    }
}
