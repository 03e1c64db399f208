using System.Buffers;
using System.Text;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// Parses a response head (status line and fields) and a chunked body's trailer section
/// (RFC 9112 §4, §5, §7.1.2). Strict where leniency would let a broken or hostile instance
/// confuse the proxy: lines end in CRLF, no whitespace before a field's colon, no obs-fold
/// (§5.2 lets a proxy answer 502 instead), values of visible ASCII only (the client's response is
/// written by Kestrel, which sends ASCII), and the head's size and field count are bounded.
/// </summary>
internal static class Http1ResponseParser
{
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    /// <summary>tchar (RFC 9110 §5.6.2).</summary>
    private static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8);

    /// <summary>What a field value may hold: HTAB, SP and VCHAR.</summary>
    private static readonly SearchValues<byte> ValueChars = SearchValues.Create(
        [(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b)]);

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> into <paramref name="connection"/>'s
    /// <see cref="Http1Connection.Fields"/>; on success <paramref name="buffer"/> is what follows it.
    /// False when the head is not complete yet. Throws <see cref="Http1ProtocolException"/> when it is malformed or too large.
    /// <paramref name="scanned"/> carries how much of an incomplete head was searched already, so a
    /// head trickled in byte by byte is not searched again from its start each time (0 at first).
    /// </summary>
    public static bool TryParseHead(ref ReadOnlySequence<byte> buffer, Http1Connection connection, int maxBytes, int maxFields, ref int scanned, out int status, out int minorVersion)
    {
        status = 0;
        minorVersion = 0;
        if (!TryTakeSection(ref buffer, maxBytes, ref scanned, out var section, out var rented))
        {
            return false;
        }
        try
        {
            var span = section;
            var end = span.IndexOf(Crlf);
            var statusLine = end < 0 ? span : span[..end];
            ParseStatusLine(statusLine, out status, out minorVersion);
            connection.Fields.Clear();
            if (end >= 0)
            {
                ParseFields(span[(end + 2)..], connection, maxFields);
            }
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Parses the trailer section that follows a chunked body's last chunk (RFC 9112 §7.1.2) into
    /// <see cref="Http1Connection.Fields"/>; on success <paramref name="buffer"/> is what follows it.
    /// </summary>
    public static bool TryParseTrailers(ref ReadOnlySequence<byte> buffer, Http1Connection connection, int maxBytes, int maxFields, ref int scanned)
    {
        connection.Fields.Clear();
        if (buffer.Length < 2)
        {
            return false;
        }
        var first = buffer.FirstSpan.Length >= 2 ? buffer.FirstSpan[..2] : buffer.Slice(0, 2).ToArray();
        if (first.SequenceEqual(Crlf))
        {
            buffer = buffer.Slice(2);
            return true; // no trailers
        }
        if (!TryTakeSection(ref buffer, maxBytes, ref scanned, out var section, out var rented))
        {
            return false;
        }
        try
        {
            ParseFields(section, connection, maxFields);
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The lines up to the first empty line (CRLF CRLF), made contiguous (a copy only when the buffer is split).</summary>
    private static bool TryTakeSection(ref ReadOnlySequence<byte> buffer, int maxBytes, ref int scanned, out ReadOnlySpan<byte> section, out byte[]? rented)
    {
        rented = null;
        section = default;
        // The delimiter may straddle what was searched and what is new.
        var from = Math.Max(0, scanned - (HeadEnd.Length - 1));
        long end;
        if (buffer.IsSingleSegment)
        {
            var at = buffer.FirstSpan[from..].IndexOf(HeadEnd);
            end = at < 0 ? -1 : from + at;
        }
        else
        {
            var reader = new SequenceReader<byte>(buffer);
            reader.Advance(from);
            end = reader.TryReadTo(out ReadOnlySequence<byte> _, HeadEnd, advancePastDelimiter: false) ? reader.Consumed : -1;
        }
        if (end < 0 || end + HeadEnd.Length > maxBytes)
        {
            if (buffer.Length > maxBytes || end >= 0)
            {
                throw new Http1ProtocolException($"The response head is larger than {maxBytes} bytes.");
            }
            scanned = (int)buffer.Length;
            return false;
        }
        scanned = 0;
        var length = (int)end;
        if (buffer.IsSingleSegment)
        {
            section = buffer.FirstSpan[..length];
        }
        else
        {
            rented = ArrayPool<byte>.Shared.Rent(length);
            buffer.Slice(0, length).CopyTo(rented);
            section = rented.AsSpan(0, length);
        }
        buffer = buffer.Slice(length + HeadEnd.Length);
        return true;
    }

    /// <summary>HTTP/1.x SP 3DIGIT [SP reason-phrase] (RFC 9112 §4).</summary>
    private static void ParseStatusLine(ReadOnlySpan<byte> line, out int status, out int minorVersion)
    {
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[7] is not ((byte)'0' or (byte)'1') || line[8] != ' '
            || !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) || (line.Length > 12 && line[12] != ' '))
        {
            throw new Http1ProtocolException("The instance sent a malformed status line.");
        }
        if (line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
        {
            throw new Http1ProtocolException("The status line holds a bare CR, LF or NUL.");
        }
        minorVersion = line[7] - '0';
        status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (status < 100)
        {
            throw new Http1ProtocolException($"The instance sent status {status}.");
        }
    }

    private static void ParseFields(ReadOnlySpan<byte> lines, Http1Connection connection, int maxFields)
    {
        var fields = connection.Fields;
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf(Crlf);
            var line = end < 0 ? lines : lines[..end];
            lines = end < 0 ? default : lines[(end + 2)..];
            if (fields.Count >= maxFields)
            {
                throw new Http1ProtocolException($"The instance sent more than {maxFields} header fields.");
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw new Http1ProtocolException(line.Length > 0 && line[0] is (byte)' ' or (byte)'\t'
                    ? "The instance folded a header line (obs-fold)."
                    : "The instance sent a header line without a field name.");
            }
            var name = line[..colon];
            if (name.IndexOfAnyExcept(TokenChars) >= 0)
            {
                throw new Http1ProtocolException("The instance sent an invalid field name (whitespace or a delimiter in it).");
            }
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (value.IndexOfAnyExcept(ValueChars) >= 0)
            {
                throw new Http1ProtocolException("The instance sent a field value with a control character or non-ASCII byte.");
            }
            var known = Http1KnownHeaders.Find(name);
            if (known < 0)
            {
                fields.Add(new(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
                continue;
            }
            var cached = connection.KnownValues[known];
            if (cached is null || cached.Length != value.Length || !Ascii.Equals(value, cached))
            {
                cached = Encoding.ASCII.GetString(value);
                connection.KnownValues[known] = cached;
            }
            fields.Add(new(Http1KnownHeaders.Name(known), cached));
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}

/// <summary>The instance broke HTTP/1.1's rules: its connection cannot be trusted any more (it is closed), and the request fails with 502.</summary>
internal sealed class Http1ProtocolException(string message) : IOException(message);
