using System.Buffers;
using System.Text;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// Parses a response head (status line and fields) and a chunked body's trailer section
/// (RFC 9112 §4, §5, §7.1.2). Lines end in CRLF or in LF alone, which §2.2 lets a recipient
/// accept (the proxy re-frames everything it relays, so no other parser can read those lines
/// differently). Strict where leniency would let a broken or hostile instance confuse the proxy:
/// no bare CR (§2.2), no whitespace before a field's colon, no obs-fold (§5.2 lets a proxy answer
/// 502 instead), no control character in a value, and the head's size and field count are bounded.
/// Bytes 0x80-0xFF in a value (obs-text, which RFC 9110 §5.5 allows: a UTF-8 file name in
/// <c>Content-Disposition</c>, a <c>Location</c>) are kept one char per byte (Latin-1), and the node
/// writes them back the same way (<see cref="HeaderEncodings"/>), so the client gets the instance's bytes.
/// </summary>
internal static class Http1ResponseParser
{
    /// <summary>tchar (RFC 9110 §5.6.2).</summary>
    private static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8);

    /// <summary>What a field value may hold: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).</summary>
    private static readonly SearchValues<byte> ValueChars = SearchValues.Create(
        [(byte)'\t', .. Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b), .. Enumerable.Range(0x80, 0x80).Select(b => (byte)b)]);

    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/> into <paramref name="connection"/>'s
    /// <see cref="Http1Connection.Fields"/>; on success <paramref name="buffer"/> is what follows it.
    /// False when the head is not complete yet. Throws <see cref="Http1ProtocolException"/> when it is malformed or too large.
    /// <paramref name="scanned"/> carries how much of an incomplete head was searched already, so a
    /// head trickled in byte by byte is not searched again from its start each time (0 at first).
    /// <paramref name="reasonPhrase"/> is the instance's own reason phrase to relay, null for the standard one (<see cref="ReasonPhrase.Custom(int, ReadOnlySpan{byte})"/>).
    /// </summary>
    public static bool TryParseHead(ref ReadOnlySequence<byte> buffer, Http1Connection connection, int maxBytes, int maxFields, ref int scanned, out int status, out int minorVersion, out string? reasonPhrase)
    {
        status = 0;
        minorVersion = 0;
        reasonPhrase = null;
        if (!TryTakeSection(ref buffer, maxBytes, ref scanned, out var section, out var rented))
        {
            return false;
        }
        try
        {
            var span = section;
            var end = span.IndexOf((byte)'\n');
            var statusLine = WithoutCr(end < 0 ? span : span[..end]);
            ParseStatusLine(statusLine, out status, out minorVersion);
            // After "HTTP/1.x NNN ": the phrase.
            reasonPhrase = statusLine.Length > 13 ? ReasonPhrase.Custom(status, statusLine[13..]) : null;
            connection.Fields.Clear();
            if (end >= 0)
            {
                ParseFields(span[(end + 1)..], connection, maxFields);
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
        if (buffer.IsEmpty)
        {
            return false;
        }
        // No trailers: the empty line at once (CRLF, or LF alone).
        var first = buffer.FirstSpan[0];
        if (first == '\n')
        {
            buffer = buffer.Slice(1);
            return true;
        }
        if (first == '\r')
        {
            if (buffer.Length < 2)
            {
                return false;
            }
            if (buffer.Slice(1, 1).FirstSpan[0] == '\n')
            {
                buffer = buffer.Slice(2);
                return true;
            }
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

    /// <summary>
    /// The lines up to the first empty line, made contiguous (a copy only when the buffer is split),
    /// without the empty line nor the end of the line before it; <paramref name="buffer"/> is left
    /// past the empty line.
    /// </summary>
    private static bool TryTakeSection(ref ReadOnlySequence<byte> buffer, int maxBytes, ref int scanned, out ReadOnlySpan<byte> section, out byte[]? rented)
    {
        rented = null;
        section = default;
        // The section's end (LF, then LF or CR LF) may straddle what was searched and what is new.
        var from = Math.Max(0, scanned - 2);
        var end = FindEmptyLine(buffer, from, out var consumed);
        if (end < 0 || consumed > maxBytes)
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
        section = WithoutCr(section);
        buffer = buffer.Slice(consumed);
        return true;
    }

    /// <summary>
    /// Where the first empty line starts: the position of the LF ending the line before it (-1 when
    /// there is none yet), searched from <paramref name="from"/>; <paramref name="consumed"/> is
    /// where the empty line ends.
    /// </summary>
    private static long FindEmptyLine(in ReadOnlySequence<byte> buffer, int from, out long consumed)
    {
        consumed = 0;
        if (buffer.IsSingleSegment)
        {
            var span = buffer.FirstSpan;
            while (from < span.Length)
            {
                var at = span[from..].IndexOf((byte)'\n');
                if (at < 0)
                {
                    break;
                }
                var lf = from + at;
                var next = span[(lf + 1)..];
                if (next.StartsWith((byte)'\n') || next.StartsWith("\r\n"u8))
                {
                    consumed = lf + 1 + (next[0] == '\n' ? 1 : 2);
                    return lf;
                }
                from = lf + 1;
            }
            return -1;
        }
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(from);
        while (reader.TryAdvanceTo((byte)'\n'))
        {
            var lf = reader.Consumed - 1;
            if (reader.IsNext((byte)'\n') || reader.IsNext("\r\n"u8))
            {
                consumed = lf + 1 + (reader.IsNext((byte)'\n') ? 1 : 2);
                return lf;
            }
        }
        return -1;
    }

    /// <summary>A line without the CR of its CRLF ending (a CR anywhere else stays, for the line's checks to reject).</summary>
    private static ReadOnlySpan<byte> WithoutCr(ReadOnlySpan<byte> line) => line.EndsWith((byte)'\r') ? line[..^1] : line;

    /// <summary>HTTP/1.x SP 3DIGIT [SP reason-phrase] (RFC 9112 §4).</summary>
    private static void ParseStatusLine(ReadOnlySpan<byte> line, out int status, out int minorVersion)
    {
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || !IsDigit(line[7]) || line[8] != ' '
            || !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) || (line.Length > 12 && line[12] != ' '))
        {
            throw new Http1ProtocolException("The instance sent a malformed status line.");
        }
        if (line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
        {
            throw new Http1ProtocolException("The status line holds a bare CR, LF or NUL.");
        }
        // A later HTTP/1.x is read as HTTP/1.1, the highest this side speaks (RFC 9110 §2.5).
        minorVersion = line[7] == '0' ? 0 : 1;
        status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        if (status is < 100 or > 599)
        {
            // RFC 9110 §15: status codes run from 100 to 599; anything else is not a response a client can read.
            throw new Http1ProtocolException($"The instance sent status {status}.");
        }
    }

    private static void ParseFields(ReadOnlySpan<byte> lines, Http1Connection connection, int maxFields)
    {
        var fields = connection.Fields;
        while (!lines.IsEmpty)
        {
            var end = lines.IndexOf((byte)'\n');
            var line = WithoutCr(end < 0 ? lines : lines[..end]);
            lines = end < 0 ? default : lines[(end + 1)..];
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
                throw new Http1ProtocolException("The instance sent a field value with a control character.");
            }
            var known = Http1KnownHeaders.Find(name);
            if (known < 0)
            {
                fields.Add(new(Encoding.ASCII.GetString(name), HeaderEncodings.Response.GetString(value)));
                continue;
            }
            var cached = connection.KnownValues[known];
            if (cached is null || cached.Length != value.Length || !Latin1Equals(value, cached))
            {
                cached = HeaderEncodings.Response.GetString(value);
                connection.KnownValues[known] = cached;
            }
            fields.Add(new(Http1KnownHeaders.Name(known), cached));
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    /// <summary>Whether <paramref name="text"/> is <paramref name="bytes"/> one char per byte (same length checked by the caller).</summary>
    private static bool Latin1Equals(ReadOnlySpan<byte> bytes, string text)
    {
        if (Ascii.Equals(bytes, text))
        {
            return true;
        }
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != text[i])
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// The instance broke HTTP/1.1's rules, or closed the connection before its answer was whole
/// (<see cref="Closed"/>): its connection cannot be trusted any more (it is closed), and the request fails with 502.
/// </summary>
internal sealed class Http1ProtocolException(string message, bool closed = false) : IOException(message)
{
    /// <summary>The instance closed the connection (rather than sending something that is not HTTP/1.1).</summary>
    public bool Closed { get; } = closed;
}
