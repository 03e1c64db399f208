using System.Buffers;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;
using Google.Protobuf;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Turns a JSON request body into the request message with Google.Protobuf's JsonParser (proto and
/// lowerCamel names, unknown fields and keys given twice rejected), after <see cref="JsonBodyNormalizer"/>. With
/// <c>body: "field"</c> the body is that field's value, of any JSON type. Every failure is an
/// INVALID_ARGUMENT with reason <c>invalid_request</c>, naming the field when one can be named.
/// </summary>
internal sealed class JsonBodyParser(JsonTypeResolver types)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    private readonly JsonBodyNormalizer _normalizer = new(types);

    private const string NotUnicode = "The request body holds text that is not valid Unicode (bytes that are not UTF-8, or a lone surrogate escape).";

    /// <summary>Parses <paramref name="body"/> (not empty) into a new request message.</summary>
    public IMessage Parse(ReadOnlyMemory<byte> body, HttpRuleBinding binding)
    {
        var descriptor = binding.Method.InputType;
        var bodyField = binding.BodyField;
        if (!Utf8.IsValid(body.Span))
        {
            // Read on, its bad bytes would become U+FFFD and be stored as if sent.
            throw TranscodingErrors.InvalidRequest(NotUnicode, bodyField?.Name);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            // System.Text.Json's message says what and where: "'}' is invalid after ... LineNumber: 0 | BytePositionInLine: 12."
            throw TranscodingErrors.InvalidRequest("The request body is not valid JSON: " + ex.Message, bodyField?.Name);
        }
        using (document)
        {
            var violations = new RequestViolations();
            var buffer = new ArrayBufferWriter<byte>(body.Length + 16);
            string json;
            try
            {
                using (var writer = new Utf8JsonWriter(buffer))
                {
                    if (bodyField is null)
                    {
                        _normalizer.WriteMessage(writer, document.RootElement, descriptor, "", violations);
                    }
                    else
                    {
                        // The field's value goes under its name, so one parser call handles every field type.
                        writer.WriteStartObject();
                        writer.WritePropertyName(bodyField.Name);
                        _normalizer.WriteFieldValue(writer, document.RootElement, bodyField, bodyField.Name, violations);
                        writer.WriteEndObject();
                    }
                }
                json = Encoding.UTF8.GetString(buffer.WrittenSpan);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
            {
                // A string System.Text.Json cannot carry as text: an escaped lone surrogate ("\ud800").
                throw TranscodingErrors.InvalidRequest(NotUnicode, bodyField?.Name);
            }
            violations.ThrowIfAny();
            var parser = types.Parser;
            try
            {
                return parser.Parse(json, descriptor);
            }
            catch (Exception ex) when (IsParseError(ex))
            {
                using var normalized = JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
                var located = JsonErrorLocator.Locate(parser, normalized.RootElement, descriptor, "");
                throw located is { } violation
                    ? TranscodingErrors.InvalidRequest([violation])
                    : TranscodingErrors.InvalidRequest("The request body is not a valid " + descriptor.FullName + ": " + ex.Message, bodyField?.Name);
            }
        }
    }

    /// <summary>What JsonParser throws for bad input (an Any naming an unknown type is an InvalidOperationException).</summary>
    public static bool IsParseError(Exception ex) =>
        ex is InvalidProtocolBufferException or InvalidJsonException or FormatException or OverflowException or InvalidOperationException;
}
