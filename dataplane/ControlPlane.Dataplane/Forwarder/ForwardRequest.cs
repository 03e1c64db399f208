namespace ControlPlane.Dataplane.Forwarder;

/// <summary>What every attempt of one request shares (<see cref="HttpForwarder.ForwardAsync"/>).</summary>
/// <param name="Image">The image, for metrics and logs.</param>
/// <param name="PathAndQuery">What follows the origin in the upstream URI: <c>/{path}?{query}</c>, escaped.</param>
/// <param name="ForwardedPrefix"><c>X-Forwarded-Prefix</c>: <c>/g/{image}</c>.</param>
/// <param name="RequestId"><c>X-Request-ID</c>.</param>
/// <param name="Grpc">A gRPC request: always HTTP/2 upstream, and no activity timeout (the call's deadline governs).</param>
/// <param name="Body">The streamed request body; null when the request has none (only then may it be retried).</param>
internal readonly record struct ForwardRequest(string Image, string PathAndQuery, string ForwardedPrefix, string RequestId, bool Grpc, StreamingRequestContent? Body);
