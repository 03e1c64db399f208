using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Reads a JSON request body into memory, never more than the configured limit: a declared
/// Content-Length over the limit is refused before reading, and a chunked body is refused as soon as
/// it passes the limit. A body must be JSON (<c>application/json</c> or <c>+json</c>, UTF-8) without a content coding.
/// For a method that takes no body, only the first few bytes of one are read (<see cref="IsEmptyAsync"/>).
/// </summary>
internal static class RequestBodyReader
{
    /// <summary>The longest body <see cref="IsEmptyAsync"/> reads: room for "{}" amid some whitespace.</summary>
    public const int MaxEmptyBodySize = 64;

    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpContext http, int maxSize, CancellationToken cancellationToken)
    {
        var request = http.Request;
        var canHaveBody = http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength is not 0;
        if (!canHaveBody || request.ContentLength == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        if (request.ContentLength > maxSize)
        {
            throw TooLarge(maxSize);
        }
        if (request.ContentType is not null)
        {
            CheckContentType(request.ContentType);
        }
        CheckContentEncoding(request.Headers.ContentEncoding);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false, MaxRequestBodySize: { } serverLimit } sizeFeature && serverLimit < maxSize)
        {
            // Our limit is the one that applies: lift Kestrel's own when it is lower.
            sizeFeature.MaxRequestBodySize = maxSize;
        }

        // Consume what arrives into a buffer of our own, which the limit bounds (the pipe holds one read at most).
        var body = new ArrayBufferWriter<byte>((int)Math.Min(request.ContentLength ?? 4096, maxSize));
        var reader = request.BodyReader;
        while (true)
        {
            var result = await ReadAsync(reader, maxSize, cancellationToken);
            var buffer = result.Buffer;
            if (body.WrittenCount + buffer.Length > maxSize)
            {
                reader.AdvanceTo(buffer.End);
                throw TooLarge(maxSize);
            }
            foreach (var segment in buffer)
            {
                body.Write(segment.Span);
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }
        if (body.WrittenCount > 0 && request.ContentType is null)
        {
            CheckContentType(null);
        }
        return body.WrittenMemory;
    }

    /// <summary>
    /// Whether the request of a method that takes no body carries one that says nothing: none, only
    /// whitespace, or the empty JSON object <c>{}</c>, whatever its Content-Type. Reads at most
    /// <see cref="MaxEmptyBodySize"/> bytes and one more to decide; the rest of a longer body is never read.
    /// </summary>
    public static async Task<bool> IsEmptyAsync(HttpContext http, CancellationToken cancellationToken)
    {
        var request = http.Request;
        var canHaveBody = http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength is not 0;
        if (!canHaveBody || request.ContentLength == 0)
        {
            return true;
        }
        if (request.ContentLength > MaxEmptyBodySize)
        {
            return false;
        }
        var prefix = new ArrayBufferWriter<byte>(MaxEmptyBodySize + 1);
        var reader = request.BodyReader;
        while (prefix.WrittenCount <= MaxEmptyBodySize)
        {
            var result = await ReadAsync(reader, MaxEmptyBodySize, cancellationToken);
            var buffer = result.Buffer;
            foreach (var segment in buffer.Slice(0, Math.Min(buffer.Length, MaxEmptyBodySize + 1 - prefix.WrittenCount)))
            {
                prefix.Write(segment.Span);
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                break;
            }
        }
        return prefix.WrittenCount <= MaxEmptyBodySize && IsEmpty(prefix.WrittenSpan);
    }

    /// <summary>No bytes, only JSON whitespace (RFC 8259 §2), or <c>{}</c> with whitespace around or inside.</summary>
    private static bool IsEmpty(ReadOnlySpan<byte> body)
    {
        var text = body.Trim(" \t\r\n"u8);
        return text.IsEmpty || (text.Length >= 2 && text[0] == (byte)'{' && text[^1] == (byte)'}' && text[1..^1].Trim(" \t\r\n"u8).IsEmpty);
    }

    private static async ValueTask<ReadResult> ReadAsync(PipeReader reader, int maxSize, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadAsync(cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxSize);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own verdict on the body (bad chunked framing, too slow): keep its status, explain it in JSON.
            throw new HttpRefusalException(ex.StatusCode, "The request body could not be read: " + ex.Message);
        }
    }

    private static void CheckContentType(string? contentType)
    {
        if (contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var media) && IsJson(media))
        {
            return;
        }
        var shown = contentType is null ? "no Content-Type" : $"Content-Type '{EchoedValue.Cap(contentType)}'";
        throw new HttpRefusalException(StatusCodes.Status415UnsupportedMediaType, $"A request body with {shown} is not supported; send JSON as 'application/json'.");
    }

    /// <summary>
    /// RFC 9110 §8.4: a coding the server does not apply must not be ignored; this transcoder decodes
    /// none, so a body sent with any coding but identity is refused (RFC 9110 §15.5.16: 415).
    /// </summary>
    private static void CheckContentEncoding(StringValues codings)
    {
        foreach (var value in codings)
        {
            foreach (var coding in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
                {
                    throw new HttpRefusalException(StatusCodes.Status415UnsupportedMediaType,
                        $"A request body with Content-Encoding '{EchoedValue.Cap(coding)}' is not supported; send the JSON body without a content coding.");
                }
            }
        }
    }

    private static bool IsJson(MediaTypeHeaderValue media)
    {
        var type = media.MediaType.Value ?? "";
        var json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
        // RFC 8259: JSON exchanged between systems is UTF-8.
        // RFC 9110 §5.6.6: a quoted parameter value is the same value unquoted.
        var charset = HeaderUtilities.RemoveQuotes(media.Charset).Value;
        return json && (string.IsNullOrEmpty(charset) || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));
    }

    private static HttpRefusalException TooLarge(int maxSize) =>
        new(StatusCodes.Status413PayloadTooLarge, $"The request body is larger than the limit of {maxSize} bytes.");
}
