namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The error codes the edge proxy answers with, in the operations contract's spelling. Over HTTP
/// the body is <c>{"error":{"code":"...","detail":"..."}}</c> (<c>application/json</c>); gRPC
/// callers (<c>content-type: application/grpc</c>) get the status the gRPC HTTP mapping
/// (doc/http-grpc-status-mapping.md) derives from the HTTP status instead, in a Trailers-Only
/// response whose <c>grpc-message</c> is the detail and whose <c>grpc-status-details-bin</c>
/// carries a <c>google.rpc.ErrorInfo</c> with the code as its reason.
/// </summary>
public static class ProxyErrorCodes
{
    /// <summary>404 (gRPC UNIMPLEMENTED): no image of that name is configured, or the path names none.</summary>
    public const string NotFound = "not_found";

    /// <summary>503 (gRPC UNAVAILABLE): the node holds no configuration yet.</summary>
    public const string NotReady = "not_ready";

    /// <summary>503 (gRPC UNAVAILABLE): the image has no endpoint a request may be sent to.</summary>
    public const string NoRoutableEndpoint = "no_routable_endpoint";

    /// <summary>502 (gRPC UNAVAILABLE): the instance refused or dropped the connection, or answered with a broken response.</summary>
    public const string BackendUnreachable = "backend_unreachable";

    /// <summary>504 (gRPC UNAVAILABLE): the instance kept the request waiting longer than the activity timeout for its response headers.</summary>
    public const string BackendTimeout = "backend_timeout";

    /// <summary>400 (gRPC INTERNAL): the client's request body could not be read (malformed, or cut short).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>408 (gRPC UNKNOWN): the client sent its request body too slowly (Kestrel's minimum data rate).</summary>
    public const string RequestTimeout = "request_timeout";

    /// <summary>413 (gRPC UNKNOWN): the request body is larger than <c>Dataplane:MaxRequestBodySize</c>.</summary>
    public const string PayloadTooLarge = "payload_too_large";
}
