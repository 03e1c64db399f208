using System.Net.Http;

namespace ControlPlane.Grpc.Client.Internal;

/// <summary>
/// The gRPC status of a call ended by an HTTP/2 RST_STREAM or GOAWAY, by its error code as
/// PROTOCOL-HTTP2.md maps them (INADEQUATE_SECURITY, 0xC, is PERMISSION_DENIED), and of a call
/// whose connection the client gave up on because a keepalive PING went unanswered (UNAVAILABLE).
/// </summary>
internal static class Http2ErrorStatus
{
    private const long Http11Required = 0xD;
    private const long ProtocolError = 0x1;

    public static Status From(HttpProtocolException protocol, string what)
    {
        if (IsKeepAliveTimeout(protocol))
        {
            // PROTOCOL-HTTP2.md: an expired client-initiated PING closes every call with UNAVAILABLE.
            // The server is hung or cut off, not broken: a client with other addresses tries the next.
            return new Status(StatusCode.Unavailable, $"{what}: the connection was closed because the server did not answer a keepalive PING in time: {protocol.Message}");
        }
        // HTTP_1_1_REQUIRED (0xD), which the mapping does not list, comes from a server that speaks
        // no HTTP/2 there: the address is not a gRPC endpoint (a REST port given for the gRPC one),
        // UNAVAILABLE, so a client with other addresses tries the next.
        var code = protocol.ErrorCode switch
        {
            0x0 or ProtocolError or 0x2 or 0x3 or 0x4 or 0x5 or 0x6 or 0x9 or 0xA => StatusCode.Internal,
            0x7 or Http11Required => StatusCode.Unavailable,
            0x8 => StatusCode.Cancelled,
            0xB => StatusCode.ResourceExhausted,
            0xC => StatusCode.PermissionDenied,
            _ => StatusCode.Internal,
        };
        var hint = protocol.ErrorCode == Http11Required
            ? " (the address serves HTTP/1.1 only: is it an HTTP port rather than the gRPC port?)"
            : "";
        return new Status(code, $"{what}: HTTP/2 error 0x{protocol.ErrorCode:X}: {protocol.Message}{hint}");
    }

    /// <summary>
    /// SocketsHttpHandler raises a keepalive timeout as a PROTOCOL_ERROR of its own, told apart from
    /// one the server sent only by its message (".. didn't respond to a ping request .."; no property
    /// or type says so). ChannelTests pins the message, so a runtime that rewords it fails a test
    /// instead of turning hung servers back into INTERNAL errors.
    /// </summary>
    private static bool IsKeepAliveTimeout(HttpProtocolException protocol) =>
        protocol.ErrorCode == ProtocolError && protocol.Message.Contains(" ping", StringComparison.OrdinalIgnoreCase);
}
