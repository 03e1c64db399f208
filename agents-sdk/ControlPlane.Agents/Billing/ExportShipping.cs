using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ControlPlane.Agents.Runtime;

namespace ControlPlane.Agents.Billing;

/// <summary>
/// Where an export goes (the reference's "S3/HTTP, configured externally"): a directory gets the
/// export, its <c>.sha256</c> file (sha256sum's format) and <c>latest.json</c>, the pointer naming
/// the newest export and its checksums; each written to a temporary name and renamed, so a reader
/// never sees half a file and the pointer never names a file not yet there. An HTTP endpoint gets the
/// export as a POST (with its name and checksums in headers, and the export's checksum as
/// <c>Idempotency-Key</c>, which makes the POST safe to repeat); the checksum file and pointer then
/// go to <c>pointer_dir</c> when one is given.
/// </summary>
internal static class ExportShipping
{
    public const string PointerFile = "latest.json";

    public static string FileName(ExportDocument export) =>
        $"lb_billing_export_{export.Window}_{DateTimeOffset.Parse(export.WindowEnd, CultureInfo.InvariantCulture).UtcDateTime:yyyyMMddTHHmmssZ}.json";

    public static JsonObject Pointer(ExportDocument export, string location) => new()
    {
        ["export"] = FileName(export),
        ["location"] = location,
        ["sha256"] = export.FileSha256,
        ["checksum"] = export.Checksum,
        ["window"] = export.Window,
        ["window_start"] = export.WindowStart,
        ["window_end"] = export.WindowEnd,
        ["generated_at"] = export.GeneratedAt,
        ["bytes"] = export.Bytes.Length,
    };

    /// <summary>Writes the export (unless <paramref name="withExport"/> is false: it went over HTTP), its checksum file and the pointer into <paramref name="directory"/>.</summary>
    public static JsonObject ToDirectory(ExportDocument export, string directory, bool withExport)
    {
        Directory.CreateDirectory(directory);
        var name = FileName(export);
        var path = Path.Combine(directory, name);
        if (withExport)
        {
            WriteAtomically(path, export.Bytes);
        }
        WriteAtomically(path + ".sha256", Encoding.ASCII.GetBytes($"{export.FileSha256}  {name}\n"));
        var pointer = Pointer(export, withExport ? path : "(shipped over HTTP)");
        WriteAtomically(Path.Combine(directory, PointerFile), Encoding.UTF8.GetBytes(pointer.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n"));
        return pointer;
    }

    public static HttpCall ToUrl(ExportDocument export, Uri url) => new(HttpMethod.Post, url)
    {
        Body = export.Bytes,
        ContentType = "application/json",
        Headers = new Dictionary<string, string>
        {
            ["X-Export-Name"] = FileName(export),
            ["X-Export-SHA256"] = export.FileSha256,
            ["X-Export-Checksum"] = export.Checksum,
            ["Idempotency-Key"] = export.Checksum,
        },
        SafeToRepeat = true,
        NoRetry = true,
    };

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }
}
