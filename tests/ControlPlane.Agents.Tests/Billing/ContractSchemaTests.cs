using System.Text;
using System.Text.Json;
using ControlPlane.Agents.Billing;

namespace ControlPlane.Agents.Tests.Billing;

/// <summary>The agent's check of contracts/lb_billing_export.schema.json agrees with python's jsonschema (the project's reference check) on valid and broken exports.</summary>
public sealed class ContractSchemaTests
{
    private const string Valid = """{"generated_at":"2026-01-01T10:00:30Z","window":"1h","schema_version":"1.0","images":[{"image":"img.a","rps_avg":0.5,"bytes_tx":10,"req_count":1800,"errors_4xx":0,"errors_5xx":1}],"window_start":"2026-01-01T09:00:30Z","window_end":"2026-01-01T10:00:30Z"}""";

    public static TheoryData<string, string> Broken => new()
    {
        { "a count as a string (protobuf's int64 JSON)", Valid.Replace("\"req_count\":1800", "\"req_count\":\"1800\"", StringComparison.Ordinal) },
        { "a missing member", Valid.Replace(",\"errors_5xx\":1", "", StringComparison.Ordinal) },
        { "an unknown member", Valid.Replace("\"window\":\"1h\"", "\"window\":\"1h\",\"extra\":1", StringComparison.Ordinal) },
        { "a window not in the enum", Valid.Replace("\"window\":\"1h\"", "\"window\":\"2h\"", StringComparison.Ordinal) },
        { "a negative count", Valid.Replace("\"bytes_tx\":10", "\"bytes_tx\":-1", StringComparison.Ordinal) },
        { "another schema version", Valid.Replace("\"1.0\"", "\"2.0\"", StringComparison.Ordinal) },
        { "a time without a zone", Valid.Replace("2026-01-01T10:00:30Z\",\"window\"", "2026-01-01T10:00:30\",\"window\"", StringComparison.Ordinal) },
        { "a fractional count", Valid.Replace("\"errors_4xx\":0", "\"errors_4xx\":0.5", StringComparison.Ordinal) },
    };

    [Fact]
    public async Task AValidExport_WithItsChecksum_PassesBoth()
    {
        await ExportValidator.RequireAsync();
        var body = WithChecksum(Valid);
        Assert.Null(await ExportValidator.ValidateAsync(body));
        var export = ExportDocument.Check(body, ContractSchema.BillingExport);
        Assert.Equal(1800, export.Requests);
    }

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task ABrokenExport_IsRefusedByBoth(string what, string json)
    {
        await ExportValidator.RequireAsync();
        var body = WithChecksum(json);
        Assert.NotNull(await ExportValidator.ValidateAsync(body));
        var error = Assert.Throws<FormatException>(() => ExportDocument.Check(body, ContractSchema.BillingExport));
        Assert.Contains("lb_billing_export.schema.json", error.Message, StringComparison.Ordinal);
        Assert.NotEmpty(what);
    }

    [Fact]
    public void AChangedByte_FailsTheChecksum()
    {
        var body = Encoding.UTF8.GetString(WithChecksum(Valid)).Replace("\"req_count\":1800", "\"req_count\":1801", StringComparison.Ordinal);
        var error = Assert.Throws<FormatException>(() => ExportDocument.Check(Encoding.UTF8.GetBytes(body), ContractSchema.BillingExport));
        Assert.Contains("does not match its bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeywordTheValidatorDoesNotKnow_FailsLoading_NotSilently()
    {
        var error = Assert.Throws<InvalidOperationException>(() => ContractSchema.Parse("""{"type":"object","properties":{"a":{"type":"string","uniqueItems":true}}}"""));
        Assert.Contains("uniqueItems", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The document as the control plane sends it: the checksum member after images, over the bytes without it.</summary>
    private static byte[] WithChecksum(string json)
    {
        var checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(json)));
        var at = json.IndexOf(",\"window_start\"", StringComparison.Ordinal);
        Assert.True(at > 0 || json.Contains("window_start", StringComparison.Ordinal) == false);
        return Encoding.UTF8.GetBytes(at > 0 ? json[..at] + $",\"checksum\":\"{checksum}\"" + json[at..] : json[..^1] + $",\"checksum\":\"{checksum}\"}}");
    }
}
