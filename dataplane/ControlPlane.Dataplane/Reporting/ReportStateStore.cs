using System.Text.Json;
using ControlPlane.Api.V1;
using Google.Protobuf;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// The node's report state on disk, in <c>load-reports.pb</c>: length-delimited
/// <see cref="ReportLoadRequest"/> messages, the first a header holding only the epoch and the last
/// sequence assigned, then every unacknowledged report in order. Written to a temporary file,
/// flushed to disk and renamed over the old one, so a crash leaves the old or the new state, never
/// half of one; a restarted node resends what it holds with its epoch (load_report.proto).
/// </summary>
internal sealed class ReportStateStore(string directory, long maxSetAsideBytes = ReportStateStore.DefaultMaxSetAsideBytes)
{
    /// <summary>
    /// Size past which <see cref="SetAsideReport"/> writes no more: a control plane that refused every
    /// report must not fill the disk. The node then keeps what it would have set aside, and resends it.
    /// </summary>
    public const long DefaultMaxSetAsideBytes = 64L * 1024 * 1024;

    public const string FileName = "load-reports.pb";

    /// <summary>Reports (or parts of them) a control plane refused as invalid, one JSON object per line, for a human.</summary>
    public const string SetAsideFileName = "load-reports.set-aside.jsonl";

    public string Path { get; } = System.IO.Path.Combine(directory, FileName);

    public void Save(string epoch, ulong lastSequence, IEnumerable<ReportLoadRequest> pending)
    {
        Directory.CreateDirectory(directory);
        var temp = System.IO.Path.Combine(directory, $".{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                new ReportLoadRequest { Epoch = epoch, Sequence = lastSequence }.WriteDelimitedTo(file);
                foreach (var report in pending)
                {
                    report.WriteDelimitedTo(file);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The saved state; null when there is none. Throws <see cref="InvalidDataException"/> or <see cref="InvalidProtocolBufferException"/> on a damaged file.</summary>
    public (string Epoch, ulong LastSequence, List<ReportLoadRequest> Pending)? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (file.Length == 0)
        {
            throw new InvalidDataException("the file is empty");
        }
        var header = ReportLoadRequest.Parser.ParseDelimitedFrom(file);
        var pending = new List<ReportLoadRequest>();
        while (file.Position < file.Length)
        {
            pending.Add(ReportLoadRequest.Parser.ParseDelimitedFrom(file));
        }
        if (header.Epoch.Length == 0 || pending.Any(p => p.Epoch != header.Epoch || p.Sequence == 0 || p.Sequence > header.Sequence)
            || pending.Zip(pending.Skip(1)).Any(p => p.Second.Sequence != p.First.Sequence + 1))
        {
            throw new InvalidDataException("the reports do not follow the header's epoch and sequence");
        }
        return (header.Epoch, header.Sequence, pending);
    }

    /// <summary>Where <see cref="SetAsideReport"/> appends.</summary>
    public string SetAsidePath => System.IO.Path.Combine(directory, SetAsideFileName);

    /// <summary>
    /// Appends a refused report (or the part of one that was refused) to <see cref="SetAsideFileName"/>:
    /// one line <c>{"set_aside_at": ..., "reason": ..., "report": {...}}</c>, the report in protobuf's
    /// JSON mapping, flushed to disk before the node forgets it. Throws <see cref="IOException"/> once the
    /// file holds <c>maxSetAsideBytes</c> or more.
    /// </summary>
    public void SetAsideReport(ReportLoadRequest report, string reason, DateTimeOffset at)
    {
        Directory.CreateDirectory(directory);
        using var file = new FileStream(SetAsidePath, FileMode.Append, FileAccess.Write, FileShare.Read);
        if (file.Length >= maxSetAsideBytes)
        {
            throw new IOException($"{SetAsidePath} holds {file.Length} bytes, its limit: move it away to set more aside");
        }
        using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            json.WriteString("set_aside_at", at.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("reason", reason);
            json.WritePropertyName("report");
            json.WriteRawValue(JsonFormatter.Default.Format(report), skipInputValidation: true);
            json.WriteEndObject();
        }
        file.WriteByte((byte)'\n');
        file.Flush(flushToDisk: true);
    }

    /// <summary>Moves a damaged file aside (for a human to look at) so the node can start afresh.</summary>
    public string SetAside()
    {
        var aside = Path + ".damaged";
        File.Move(Path, aside, overwrite: true);
        return aside;
    }
}
