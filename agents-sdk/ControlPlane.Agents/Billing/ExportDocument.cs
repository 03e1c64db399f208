using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Agents.Billing;

/// <summary>
/// A billing export as received (the REST body's bytes, shipped unchanged), checked against the
/// contract and against its own checksum: SHA-256 of the bytes with <c>,"checksum":"&lt;hex&gt;"</c>
/// cut out (billing.proto), so what Team 4 receives is verifiable from the bytes alone.
/// </summary>
internal sealed class ExportDocument
{
    private ExportDocument(byte[] bytes, JsonElement json)
    {
        Bytes = bytes;
        Json = json;
    }

    public byte[] Bytes { get; }

    public JsonElement Json { get; }

    public string Checksum => Json.GetProperty("checksum").GetString()!;

    public string Window => Json.GetProperty("window").GetString()!;

    public string WindowStart => Json.GetProperty("window_start").GetString()!;

    public string WindowEnd => Json.GetProperty("window_end").GetString()!;

    public string GeneratedAt => Json.GetProperty("generated_at").GetString()!;

    /// <summary>SHA-256 of the whole file as shipped (the .sha256 file's value).</summary>
    public string FileSha256 => Convert.ToHexStringLower(SHA256.HashData(Bytes));

    public int Images => Json.GetProperty("images").GetArrayLength();

    public long Requests => Json.GetProperty("images").EnumerateArray().Sum(i => i.GetProperty("req_count").GetInt64());

    /// <summary>Parses and checks <paramref name="bytes"/>; throws <see cref="FormatException"/> listing what is wrong.</summary>
    public static ExportDocument Check(byte[] bytes, ContractSchema schema)
    {
        JsonElement json;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            json = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new FormatException("the export is not JSON: " + ex.Message, ex);
        }
        var errors = schema.Validate(json);
        if (errors.Count > 0)
        {
            throw new FormatException("the export does not match contracts/lb_billing_export.schema.json: " + string.Join("; ", errors));
        }
        var checksum = json.GetProperty("checksum").GetString()!;
        var member = Encoding.ASCII.GetBytes($",\"checksum\":\"{checksum}\"");
        var at = bytes.AsSpan().IndexOf(member);
        if (at < 0 || bytes.AsSpan(at + member.Length).IndexOf(member) >= 0)
        {
            throw new FormatException("the export's checksum member is not found exactly once in its bytes");
        }
        var cut = new byte[bytes.Length - member.Length];
        bytes.AsSpan(0, at).CopyTo(cut);
        bytes.AsSpan(at + member.Length).CopyTo(cut.AsSpan(at));
        var actual = Convert.ToHexStringLower(SHA256.HashData(cut));
        if (actual != checksum)
        {
            throw new FormatException($"the export's checksum {checksum} does not match its bytes ({actual})");
        }
        return new ExportDocument(bytes, json);
    }
}
