using System.Globalization;
using Google.Protobuf;

namespace ControlPlane.Grpc.Protocol;

/// <summary>Metadata and status to and from HTTP/2 header fields.</summary>
internal static class MetadataEncoding
{
    /// <summary>Adds a received header to <paramref name="metadata"/> unless it is a protocol header.</summary>
    public static void AddReceived(Metadata metadata, string name, string? value)
    {
        if (value is null || GrpcProtocol.IsReservedHeader(name))
        {
            return;
        }
        try
        {
            if (Metadata.IsBinaryKey(name))
            {
                // Intermediaries may join repeated binary values with commas.
                foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    metadata.Add(name, DecodeBase64(part));
                }
            }
            else
            {
                metadata.Add(name, value);
            }
        }
        catch (FormatException)
        {
            // An undecodable binary header is dropped, not fatal: grpc C-core does the same.
        }
        catch (ArgumentException)
        {
            // A header name or value that is not valid metadata (non-ASCII, odd characters) is dropped.
        }
    }

    /// <summary>The wire form of an entry's value: ASCII as is, bytes as unpadded base64.</summary>
    public static string WireValue(Metadata.Entry entry) =>
        entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value;

    /// <summary>Decodes base64 with or without padding (PROTOCOL-HTTP2.md requires accepting both).</summary>
    public static byte[] DecodeBase64(string value)
    {
        var padding = (4 - (value.Length % 4)) % 4;
        if (padding == 3)
        {
            throw new FormatException("Invalid base64 length.");
        }
        return Convert.FromBase64String(padding == 0 ? value : value + new string('=', padding));
    }

    /// <summary>Writes grpc-status, grpc-message and grpc-status-details-bin through <paramref name="add"/>.</summary>
    /// <remarks>
    /// Both are bounded: a detail that echoes what a client sent (a 2 MB service name) would otherwise
    /// go out as header frames, which flow control does not limit, and past a client's header list
    /// limit the client sees RESOURCE_EXHAUSTED instead of the status. The detail is cut at
    /// <see cref="MaxDetailLength"/> characters; details past <see cref="MaxDetailsBytes"/> bytes are left out.
    /// </remarks>
    public static void WriteStatus(Status status, Action<string, string> add)
    {
        add(GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            add(GrpcProtocol.MessageHeader, PercentEncoding.Encode(TextLimit.Cut(status.Detail, MaxDetailLength)));
        }
        if (status.Details is not null && status.Details.CalculateSize() <= MaxDetailsBytes)
        {
            add(GrpcProtocol.StatusDetailsHeader, Convert.ToBase64String(status.Details.ToByteArray()).TrimEnd('='));
        }
    }

    /// <summary>The most characters of a status detail sent in grpc-message.</summary>
    public const int MaxDetailLength = 1024;

    /// <summary>The largest grpc-status-details-bin sent, in bytes before base64.</summary>
    public const int MaxDetailsBytes = 8192;

    /// <summary>Reads a status from header values; null when there is no valid grpc-status.</summary>
    public static Status? ReadStatus(string? statusValue, string? messageValue, string? detailsValue)
    {
        if (statusValue is null || !int.TryParse(statusValue, NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return null;
        }
        var detail = messageValue is null ? "" : PercentEncoding.Decode(messageValue);
        Google.Rpc.Status? details = null;
        if (detailsValue is not null)
        {
            try
            {
                details = Google.Rpc.Status.Parser.ParseFrom(DecodeBase64(detailsValue));
            }
            catch (Exception ex) when (ex is FormatException or InvalidProtocolBufferException)
            {
                details = null;
            }
        }
        return new Status((StatusCode)code, detail, details);
    }
}
