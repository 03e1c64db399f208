using System.Text;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// Response field names common enough to keep one string each: a parsed name that matches one
/// (in any case) costs no allocation, and its value can be cached per connection.
/// </summary>
internal static class Http1KnownHeaders
{
    public const int ContentLength = 0;
    public const int TransferEncoding = 1;
    public const int Connection = 2;

    private static readonly string[] Names =
    [
        "Content-Length", "Transfer-Encoding", "Connection", "Content-Type", "Date", "Server", "Keep-Alive",
        "Cache-Control", "ETag", "Last-Modified", "Expires", "Vary", "Location", "Set-Cookie", "Content-Encoding",
        "Accept-Ranges", "Access-Control-Allow-Origin", "Pragma", "Age", "Content-Language", "Content-Disposition",
        "Strict-Transport-Security", "X-Content-Type-Options", "Trailer", "Upgrade", "Alt-Svc", "X-Request-ID",
        "Content-Range", "WWW-Authenticate", "Retry-After", "Link",
    ];

    private static readonly byte[][] Bytes = [.. Names.Select(Encoding.ASCII.GetBytes)];

    public static int Count => Names.Length;

    public static string Name(int index) => Names[index];

    /// <summary>The index of <paramref name="name"/> (ASCII, any case), or -1.</summary>
    public static int Find(ReadOnlySpan<byte> name)
    {
        var bytes = Bytes;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i].Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(bytes[i], name))
            {
                return i;
            }
        }
        return -1;
    }
}
