using System.Globalization;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using ControlPlane.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Billing;

/// <summary>
/// The canonical bytes of a billing export and their checksum (billing.proto, field checksum): the
/// export's JSON without <c>checksum</c>, compact, members in field-number order under their proto
/// names, zeros written, integers as numbers, timestamps as proto3 JSON. The REST facade writes the
/// response the same way, so the response body with <c>,"checksum":"…"</c> cut out is exactly these
/// bytes: a consumer verifies the export from what it received, with no JSON library in between.
/// </summary>
internal static class BillingDocument
{
    public const string SchemaVersion = "1.0";

    // The REST facade's encoder: non-ASCII stays readable, so both write the same bytes.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] CanonicalBytes(ExportBillingResponse export)
    {
        ArgumentNullException.ThrowIfNull(export);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + export.Images.Count * 128);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("generated_at", Format(export.GeneratedAt));
            json.WriteString("window", export.Window);
            json.WriteString("schema_version", export.SchemaVersion);
            json.WriteStartArray("images");
            foreach (var image in export.Images)
            {
                json.WriteStartObject();
                json.WriteString("image", image.Image);
                json.WriteNumber("rps_avg", image.RpsAvg);
                json.WriteNumber("bytes_tx", image.BytesTx);
                json.WriteNumber("req_count", image.ReqCount);
                json.WriteNumber("errors_4xx", image.Errors4Xx);
                json.WriteNumber("errors_5xx", image.Errors5Xx);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("window_start", Format(export.WindowStart));
            json.WriteString("window_end", Format(export.WindowEnd));
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Lower-case hex SHA-256 of <see cref="CanonicalBytes"/>.</summary>
    public static string Checksum(ExportBillingResponse export) => Convert.ToHexStringLower(SHA256.HashData(CanonicalBytes(export)));

    /// <summary>proto3 JSON for Timestamp: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.</summary>
    public static string Format(Timestamp timestamp)
    {
        ArgumentNullException.ThrowIfNull(timestamp);
        var text = DateTime.UnixEpoch.AddSeconds(timestamp.Seconds).ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss", CultureInfo.InvariantCulture);
        var nanos = timestamp.Nanos;
        var fraction = nanos switch
        {
            0 => "",
            _ when nanos % 1_000_000 == 0 => "." + (nanos / 1_000_000).ToString("D3", CultureInfo.InvariantCulture),
            _ when nanos % 1_000 == 0 => "." + (nanos / 1_000).ToString("D6", CultureInfo.InvariantCulture),
            _ => "." + nanos.ToString("D9", CultureInfo.InvariantCulture),
        };
        return text + fraction + "Z";
    }
}
