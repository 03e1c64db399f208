namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>How a response's body is delimited (RFC 9112 §6.3), and whether its connection may carry another exchange.</summary>
internal readonly record struct Http1ResponseFraming(Http1BodyKind Kind, long ContentLength, bool KeepAlive)
{
    /// <summary>
    /// Reads the framing from the parsed fields. A response to HEAD, and 1xx, 204 and 304, have no
    /// body whatever their fields say; otherwise chunked, else <c>Content-Length</c>, else the body
    /// runs to the connection's close. Both at once, a transfer coding other than chunked, or a
    /// <c>Content-Length</c> that is not one decimal number (repeated, or a list, even of equal
    /// values: §6.3 ¶5 and RFC 9110 §8.6 let a recipient refuse it, and Kestrel could not relay it as
    /// sent) are protocol errors: each is how response smuggling starts (§6.3 ¶3-5).
    /// </summary>
    public static Http1ResponseFraming From(List<KeyValuePair<string, string>> fields, int status, int minorVersion, bool headRequest)
    {
        string? transferEncoding = null;
        long contentLength = -1;
        var close = false;
        var keepAlive = false;
        foreach (var (name, value) in fields)
        {
            if (ReferenceEquals(name, Http1KnownHeaders.Name(Http1KnownHeaders.ContentLength)))
            {
                if (contentLength >= 0)
                {
                    throw new Http1ProtocolException("The instance sent Content-Length more than once.");
                }
                contentLength = ParseLength(value);
            }
            else if (ReferenceEquals(name, Http1KnownHeaders.Name(Http1KnownHeaders.TransferEncoding)))
            {
                transferEncoding = transferEncoding is null ? value : transferEncoding + "," + value;
            }
            else if (ReferenceEquals(name, Http1KnownHeaders.Name(Http1KnownHeaders.Connection)))
            {
                foreach (var part in value.AsSpan().Split(','))
                {
                    var token = value.AsSpan(part).Trim(" \t");
                    close |= token.Equals("close", StringComparison.OrdinalIgnoreCase);
                    keepAlive |= token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase);
                }
            }
        }
        // HTTP/1.1 persists unless told otherwise; HTTP/1.0 only when asked (RFC 9112 §9.3).
        var persistent = !close && (minorVersion >= 1 || keepAlive);
        if (transferEncoding is not null)
        {
            if (contentLength >= 0)
            {
                throw new Http1ProtocolException("The instance sent both Transfer-Encoding and Content-Length.");
            }
            if (!transferEncoding.AsSpan().Trim(" \t").Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                throw new Http1ProtocolException($"The instance used a transfer coding other than chunked alone: '{transferEncoding}'.");
            }
        }
        if (headRequest || status is < 200 or 204 or 304)
        {
            return new(Http1BodyKind.None, 0, persistent);
        }
        if (status == 205 && contentLength > 0)
        {
            // RFC 9110 §15.3.6: a 205 has no content (and Kestrel would refuse to relay it).
            throw new Http1ProtocolException("The instance sent content with a 205 (Reset Content).");
        }
        if (transferEncoding is not null)
        {
            return new(Http1BodyKind.Chunked, -1, persistent);
        }
        if (contentLength >= 0)
        {
            return new(contentLength == 0 ? Http1BodyKind.None : Http1BodyKind.ContentLength, contentLength, persistent);
        }
        return new(Http1BodyKind.ToClose, -1, false);
    }

    private static long ParseLength(ReadOnlySpan<char> text)
    {
        // Digits only: no sign, no list ("5, 5"); the parser trimmed the value's whitespace already.
        if (text.IsEmpty || text.Length > 18 || text.ContainsAnyExceptInRange('0', '9'))
        {
            throw new Http1ProtocolException("The instance sent an invalid Content-Length (one decimal number expected).");
        }
        return long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}

internal enum Http1BodyKind
{
    /// <summary>No body.</summary>
    None,

    /// <summary>Exactly <see cref="Http1ResponseFraming.ContentLength"/> bytes.</summary>
    ContentLength,

    /// <summary>Chunked transfer coding, perhaps with trailers.</summary>
    Chunked,

    /// <summary>Everything until the instance closes the connection (which then cannot be reused).</summary>
    ToClose,
}
