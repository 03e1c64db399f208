using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// Writes the upstream request's head straight into the connection's <see cref="PipeWriter"/>:
/// request line, <c>Host</c>, the client's fields as <see cref="ProxyHeaders"/> selects them (the
/// same rules and forwarded fields as for HttpClient), and the body's framing (RFC 9112 §6: the
/// length Kestrel read the client's body by when it had one, else chunked), always written here from
/// what the node knows of the body, never copied from the client's fields: a client that named
/// <c>Content-Length</c> in <c>Connection</c> (so it is dropped as hop-by-hop) must not get its body
/// onto the upstream connection unframed, where the instance would read it as the next request.
/// Methods and field names must be tokens (RFC 9110 §5.1, §9.1): an HTTP/2 client can send a name
/// holding CR, LF, spaces or colons, which written as is would add lines, or whole requests, to the
/// upstream connection. Nothing is flushed here.
/// </summary>
internal static class Http1RequestWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    private static readonly SearchValues<byte> LineBreaks = SearchValues.Create("\r\n\0"u8);

    /// <summary>RFC 9110 §5.6.2 tchar.</summary>
    private static readonly SearchValues<char> TokenChars = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>
    /// Writes the head. <paramref name="chunked"/>: the body must be sent chunked. Throws
    /// <see cref="FormatException"/> when the client's request cannot be put on the wire (a
    /// non-ASCII or control character in a field or the target); part of it may be written then,
    /// so the connection must not be used further.
    /// </summary>
    public static void WriteHead(PipeWriter writer, HttpContext http, in ForwardRequest request, UpstreamDestination destination, out bool chunked)
    {
        var incoming = http.Request;
        WriteToken(writer, incoming.Method);
        WriteByte(writer, (byte)' ');
        WriteTarget(writer, request.PathAndQuery);
        Write(writer, " HTTP/1.1\r\nHost: "u8);
        WriteAscii(writer, destination.Authority);
        Write(writer, Crlf);
        var sink = new Sink(writer);
        ProxyHeaders.CopyRequestHeaders(http, ref sink, request.ForwardedPrefix, request.RequestId, injectActivity: true);
        chunked = false;
        if (incoming.ContentLength is { } length)
        {
            // The length Kestrel reads the client's body by: what the body sent below holds.
            Write(writer, "Content-Length: "u8);
            var digits = writer.GetSpan(20);
            length.TryFormat(digits, out var written, provider: CultureInfo.InvariantCulture);
            writer.Advance(written);
            Write(writer, Crlf);
        }
        else if (request.Body is not null)
        {
            chunked = true;
            Write(writer, "Transfer-Encoding: chunked\r\n"u8);
        }
        Write(writer, Crlf);
    }

    /// <summary>The origin-form target, escaped already; non-ASCII (UTF-8 in a raw path) is percent-encoded as a URI would be.</summary>
    private static void WriteTarget(PipeWriter writer, string target)
    {
        var span = writer.GetSpan(target.Length);
        if (System.Text.Ascii.FromUtf16(target, span, out var written) == OperationStatus.Done && span[..written].IndexOfAnyInRange((byte)0, (byte)' ') < 0 && span[..written].IndexOf((byte)0x7F) < 0)
        {
            writer.Advance(written);
            return;
        }
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in target.EnumerateRunes())
        {
            if (rune.Value is <= ' ' or 0x7F)
            {
                throw new FormatException("The request target holds a space or control character.");
            }
            if (rune.IsAscii)
            {
                WriteByte(writer, (byte)rune.Value);
                continue;
            }
            var length = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < length; i++)
            {
                var escaped = writer.GetSpan(3);
                escaped[0] = (byte)'%';
                escaped[1] = (byte)"0123456789ABCDEF"[utf8[i] >> 4];
                escaped[2] = (byte)"0123456789ABCDEF"[utf8[i] & 0xF];
                writer.Advance(3);
            }
        }
    }

    private static void WriteField(PipeWriter writer, string name, ReadOnlySpan<char> value)
    {
        WriteToken(writer, name);
        Write(writer, ": "u8);
        WriteValue(writer, value);
        Write(writer, Crlf);
    }

    private static void WriteField(PipeWriter writer, string name, StringValues values)
    {
        if (values.Count == 1)
        {
            WriteField(writer, name, values[0] ?? "");
            return;
        }
        // Several fields of one name are one comma-separated list (RFC 9110 §5.3), as HttpClient joins them.
        WriteToken(writer, name);
        Write(writer, ": "u8);
        for (var i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                Write(writer, ", "u8);
            }
            WriteValue(writer, values[i] ?? "");
        }
        Write(writer, Crlf);
    }

    private static void WriteToken(PipeWriter writer, string token)
    {
        if (token.Length == 0)
        {
            throw new FormatException("An empty method or field name.");
        }
        if (token.AsSpan().IndexOfAnyExcept(TokenChars) >= 0)
        {
            throw new FormatException("A method or field name holds a character a token cannot (RFC 9110 §5.6.2).");
        }
        WriteAscii(writer, token);
    }

    private static void WriteValue(PipeWriter writer, ReadOnlySpan<char> value)
    {
        var span = writer.GetSpan(value.Length);
        if (System.Text.Ascii.FromUtf16(value, span, out var written) != OperationStatus.Done)
        {
            // Kestrel read the client's non-ASCII bytes as UTF-8 (it refuses values that are not): the instance gets those bytes.
            span = writer.GetSpan(HeaderEncodings.Request.GetMaxByteCount(value.Length));
            written = HeaderEncodings.Request.GetBytes(value, span);
        }
        if (span[..written].IndexOfAny(LineBreaks) >= 0)
        {
            throw new FormatException("A header value holds CR, LF or NUL.");
        }
        writer.Advance(written);
    }

    private static void WriteAscii(PipeWriter writer, string text)
    {
        var span = writer.GetSpan(text.Length);
        if (System.Text.Ascii.FromUtf16(text, span, out var written) != OperationStatus.Done)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"'{text}' holds a non-ASCII character."));
        }
        writer.Advance(written);
    }

    private static void Write(PipeWriter writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    private static void WriteByte(PipeWriter writer, byte b)
    {
        writer.GetSpan(1)[0] = b;
        writer.Advance(1);
    }

    /// <summary>
    /// The client's fields as the forwarder selects them, less <c>Content-Length</c>: the framing is the
    /// writer's own. <c>TE</c> (only ever <c>trailers</c>) goes with the <c>Connection: TE</c> that RFC 9110
    /// §10.1.4 requires of its sender on HTTP/1.1 (the client's own Connection is hop-by-hop, never copied).
    /// </summary>
    private readonly struct Sink(PipeWriter writer) : IRequestHeaderSink
    {
        public void Add(string name, string value)
        {
            if (IsContentLength(name))
            {
                return;
            }
            WriteField(writer, name, value);
            if (string.Equals(name, "TE", StringComparison.OrdinalIgnoreCase))
            {
                Write(writer, "Connection: TE\r\n"u8);
            }
        }

        public void Add(string name, StringValues values)
        {
            if (!IsContentLength(name))
            {
                WriteField(writer, name, values);
            }
        }

        public void Add(string name, ReadOnlySpan<char> value)
        {
            if (!IsContentLength(name))
            {
                WriteField(writer, name, value);
            }
        }

        private static bool IsContentLength(string name) => string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase);
    }
}
