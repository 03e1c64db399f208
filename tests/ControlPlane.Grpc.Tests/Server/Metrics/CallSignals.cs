using System.Threading.Channels;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Grpc.Tests.Server.Metrics;

/// <summary>
/// Tells a test when a call has reached its handler and when it has completely left the
/// interceptor pipeline, so it can wait for the server rather than guess, even when the client
/// has given up on the call long before.
/// </summary>
public sealed class CallSignals
{
    private readonly Channel<string> _started = Channel.CreateUnbounded<string>();
    private readonly Channel<string> _ended = Channel.CreateUnbounded<string>();

    public async Task StartedAsync(string method)
    {
        while (await _started.Reader.ReadAsync().AsTask().DefaultTimeout() != method)
        {
        }
    }

    public async Task EndedAsync(string method)
    {
        while (await _ended.Reader.ReadAsync().AsTask().DefaultTimeout() != method)
        {
        }
    }

    /// <summary>Registered first (outermost): when its continuation finishes, every interceptor inside it has finished too.</summary>
    internal sealed class Outermost(CallSignals signals) : IServerInterceptor
    {
        public async Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
        {
            try
            {
                await next(context);
            }
            finally
            {
                signals._ended.Writer.TryWrite(context.Method.Name);
            }
        }
    }

    /// <summary>
    /// Registered last (innermost): the handler is about to run. It also throws a plain exception
    /// when the client asks for one, standing in for a bug anywhere inside the metrics interceptor.
    /// </summary>
    internal sealed class Innermost(CallSignals signals) : IServerInterceptor
    {
        public const string FailHeader = "x-test-fail";
        public const string FailMessage = "interceptor bug";

        public Task InterceptAsync(ServerCallContext context, ServerCallContinuation next)
        {
            signals._started.Writer.TryWrite(context.Method.Name);
            return context.RequestHeaders.GetValue(FailHeader) is null ? next(context) : throw new InvalidOperationException(FailMessage);
        }
    }
}
