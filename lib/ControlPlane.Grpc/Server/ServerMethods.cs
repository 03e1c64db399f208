namespace ControlPlane.Grpc.Server;

/// <summary>The rest of the pipeline, as seen by an interceptor.</summary>
public delegate Task ServerCallContinuation(ServerCallContext context);

/// <summary>
/// Runs around every call, in registration order, outermost first (auth, logging, metrics).
/// Throw <see cref="RpcException"/> to end the call with a status without calling <paramref name="next"/>.
/// </summary>
public interface IServerInterceptor
{
    Task InterceptAsync(ServerCallContext context, ServerCallContinuation next);
}
