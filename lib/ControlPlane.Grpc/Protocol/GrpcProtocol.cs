using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Protocol;

/// <summary>Header names and constants of the gRPC-over-HTTP/2 protocol (PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string ContentTypeProto = "application/grpc+proto";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string StatusDetailsHeader = "grpc-status-details-bin";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string TeHeader = "te";
    public const string IdentityEncoding = "identity";
    public const int HeaderSize = 5;
    public const int DefaultMaxMessageSize = 4 * 1024 * 1024;

    /// <summary>True for content types this runtime speaks: application/grpc and application/grpc+proto.</summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType) || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var rest = contentType.AsSpan(ContentType.Length);
        var semicolon = rest.IndexOf(';');
        if (semicolon >= 0)
        {
            rest = rest[..semicolon];
        }
        rest = rest.Trim();
        return rest.IsEmpty || rest.Equals("+proto", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True for any gRPC content type, whatever its message format (<c>application/grpc</c>, then
    /// nothing, <c>+</c> and a subtype such as <c>+json</c>, or <c>;</c> and parameters): a gRPC
    /// client's call, which must get a gRPC status even when its format is not one this side speaks.
    /// </summary>
    public static bool IsGrpcFamily(string? contentType) =>
        contentType is not null
        && contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == ContentType.Length || contentType[ContentType.Length] is '+' or ';' or ' ');

    /// <summary>
    /// True for a real gRPC request: HTTP/2 and a gRPC content type (PROTOCOL-HTTP2.md). A gRPC content
    /// type over HTTP/1.x is not gRPC, and gets the answers any other HTTP request gets.
    /// </summary>
    public static bool IsGrpcRequest(HttpRequest request) =>
        HttpProtocol.IsHttp2(request.Protocol) && IsGrpcContentType(request.ContentType);

    /// <summary>Headers a user may not set as custom metadata: HTTP/2 and gRPC protocol headers.</summary>
    public static bool IsReservedHeader(string name) =>
        name.StartsWith(':')
        || name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-type", StringComparison.OrdinalIgnoreCase)
        || name.Equals("te", StringComparison.OrdinalIgnoreCase)
        || name.Equals("host", StringComparison.OrdinalIgnoreCase)
        || name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("accept-encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("trailer", StringComparison.OrdinalIgnoreCase);
}
