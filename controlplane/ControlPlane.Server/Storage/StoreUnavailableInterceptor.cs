using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Storage;

/// <summary>
/// Ends a call whose store could not be reached with UNAVAILABLE (HTTP 503 over REST) and reason
/// <c>store_unavailable</c>, so clients retry instead of reporting a server bug. Unary calls and
/// streams alike: a heartbeat stream whose beat cannot be recorded ends with this status too.
/// </summary>
public sealed partial class StoreUnavailableInterceptor(ILogger<StoreUnavailableInterceptor> logger) : IServerInterceptor
{
    public const string Reason = "store_unavailable";

    public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        try
        {
            await next(context);
        }
        catch (StoreUnavailableException ex)
        {
            // Debug: during an outage every call lands here; the connection logs the outage once.
            Refused(logger, context.MethodPath, ex.Message);
            throw RpcErrors.Exception(StatusCode.Unavailable, Reason, "the control plane's store cannot be reached; retry later");
        }
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Debug, Message = "{Method} failed: store unavailable ({Why})")]
    private static partial void Refused(ILogger logger, string method, string why);
}
