using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace ControlPlane.Metrics.Internal;

/// <summary>Serves a scrape: the text format, gzip-compressed when the scraper accepts it (Prometheus does).</summary>
internal static class MetricsEndpoint
{
    public static async Task WriteAsync(HttpContext http, MetricsCollector collector)
    {
        // Collect first, into memory: the scrape lock is never held across network writes.
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        collector.Collect(buffer);

        var response = http.Response;
        response.ContentType = PrometheusText.ContentType;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        response.Headers.CacheControl = "no-store";
        if (AcceptsGzip(http.Request))
        {
            response.Headers.ContentEncoding = "gzip";
            await using var gzip = new GZipStream(response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        }
        else
        {
            response.ContentLength = buffer.WrittenCount;
            await response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted);
        }
    }

    /// <summary>Whether Accept-Encoding lists gzip with a non-zero quality (RFC 9110 §12.5.3).</summary>
    private static bool AcceptsGzip(HttpRequest request)
    {
        foreach (var coding in request.GetTypedHeaders().AcceptEncoding)
        {
            if (coding.Value.Equals("gzip", StringComparison.OrdinalIgnoreCase))
            {
                return coding.Quality is not 0;
            }
        }
        return false;
    }
}
