using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding;

/// <summary>Settings of the REST facade (JSON transcoding of <c>google.api.http</c> rules).</summary>
public sealed class GrpcJsonTranscodingOptions
{
    /// <summary>Largest JSON request body accepted; a larger one is answered 413 without being read. Default 1 MiB.</summary>
    public int MaxRequestBodySize { get; set; } = 1024 * 1024;

    /// <summary>
    /// The ErrorInfo reason of a method's REST request that cannot be turned into its request message
    /// (not JSON, an unknown or repeated key, a value of the wrong type), when it is not the default
    /// <c>invalid_request</c>; null keeps the default. Asked once per method, when the routes are built.
    /// </summary>
    public Func<MethodDescriptor, string?>? InvalidRequestReason { get; set; }
}
