using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Transcoding.Internal;

namespace ControlPlane.Grpc.Transcoding;

public static class ServerCallContextTranscodingExtensions
{
    /// <summary>
    /// True when the call came in as REST (JSON transcoding of a <c>google.api.http</c> rule) rather
    /// than gRPC; for interceptors that must tell them apart (metrics labels, protocol-specific auth).
    /// </summary>
    public static bool IsJsonTranscoded(this ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context is ITranscodedCall;
    }
}
