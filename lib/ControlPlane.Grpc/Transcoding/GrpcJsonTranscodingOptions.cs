namespace ControlPlane.Grpc.Transcoding;

/// <summary>Settings of the REST facade (JSON transcoding of <c>google.api.http</c> rules).</summary>
public sealed class GrpcJsonTranscodingOptions
{
    /// <summary>Largest JSON request body accepted; a larger one is answered 413 without being read. Default 1 MiB.</summary>
    public int MaxRequestBodySize { get; set; } = 1024 * 1024;
}
