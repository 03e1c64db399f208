using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// Binds one method: checks the handler's signature against the descriptor's call shape and
/// message types, compiles it to a typed open delegate, and returns the request delegate that
/// serves the method through the interceptor pipeline. The pipeline itself is returned too: it
/// serves any <see cref="IServerCallMessages{TRequest, TResponse}"/> call, so JSON transcoding
/// runs the same interceptors and handler as gRPC.
/// </summary>
internal static class MethodBinder<THandler, TRequest, TResponse>
    where THandler : class
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    public static BoundMethod Bind(
        MethodDescriptor method, MethodInfo handlerMethod, HandlerActivator<THandler> activator, IServerInterceptor[] interceptors, GrpcServerOptions options, ILogger logger)
    {
        var context = new ServerMethodContext<TRequest>(method, options, logger);
        Func<THandler, IServerCallMessages<TRequest, TResponse>, ServerCallContext, Task> invoke = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => BindUnary(method, handlerMethod),
            (false, true) => BindServerStreaming(method, handlerMethod),
            (true, false) => BindClientStreaming(method, handlerMethod),
            (true, true) => BindDuplex(method, handlerMethod),
        };

        // The innermost continuation: create the handler and run it.
        ServerCallContinuation pipeline = async ctx =>
        {
            var call = (IServerCallMessages<TRequest, TResponse>)ctx;
            var handler = activator.Create(ctx.HttpContext, out var owned);
            try
            {
                await invoke(handler, call, ctx);
            }
            finally
            {
                if (owned)
                {
                    await DisposeAsync(handler);
                }
            }
        };
        for (var i = interceptors.Length - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var next = pipeline;
            pipeline = ctx => interceptor.InterceptAsync(ctx, next);
        }

        return new BoundMethod(method, context.Path, http => new ServerCall<TRequest, TResponse>(context, http).RunAsync(pipeline), pipeline);
    }

    private static Func<THandler, IServerCallMessages<TRequest, TResponse>, ServerCallContext, Task> BindUnary(MethodDescriptor method, MethodInfo m)
    {
        var d = Create<Func<THandler, TRequest, ServerCallContext, Task<TResponse>>>(method, m, "Task<{1}> {2}({0} request, ServerCallContext context)");
        return async (h, call, context) =>
        {
            var request = await call.ReadSingleRequestAsync();
            var response = await d(h, request, context) ?? throw new RpcException(StatusCode.Internal, "The handler returned no response message.");
            if (context.Status.StatusCode == StatusCode.OK)
            {
                await call.WriteMessageAsync(response, flush: false);
            }
        };
    }

    private static Func<THandler, IServerCallMessages<TRequest, TResponse>, ServerCallContext, Task> BindServerStreaming(MethodDescriptor method, MethodInfo m)
    {
        var d = Create<Func<THandler, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(
            method, m, "Task {2}({0} request, IServerStreamWriter<{1}> responseStream, ServerCallContext context)");
        return async (h, call, context) =>
        {
            var request = await call.ReadSingleRequestAsync();
            await d(h, request, call, context);
        };
    }

    private static Func<THandler, IServerCallMessages<TRequest, TResponse>, ServerCallContext, Task> BindClientStreaming(MethodDescriptor method, MethodInfo m)
    {
        var d = Create<Func<THandler, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>>(
            method, m, "Task<{1}> {2}(IAsyncStreamReader<{0}> requestStream, ServerCallContext context)");
        return async (h, call, context) =>
        {
            var response = await d(h, call, context) ?? throw new RpcException(StatusCode.Internal, "The handler returned no response message.");
            if (context.Status.StatusCode == StatusCode.OK)
            {
                await call.WriteMessageAsync(response, flush: false);
            }
        };
    }

    private static Func<THandler, IServerCallMessages<TRequest, TResponse>, ServerCallContext, Task> BindDuplex(MethodDescriptor method, MethodInfo m)
    {
        var d = Create<Func<THandler, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(
            method, m, "Task {2}(IAsyncStreamReader<{0}> requestStream, IServerStreamWriter<{1}> responseStream, ServerCallContext context)");
        return (h, call, context) => d(h, call, call, context);
    }

    private static TDelegate Create<TDelegate>(MethodDescriptor method, MethodInfo m, string expectedShape)
        where TDelegate : Delegate
    {
        var invoke = typeof(TDelegate).GetMethod("Invoke")!;
        var expected = invoke.GetParameters().Skip(1).Select(p => p.ParameterType).ToArray();
        var actual = m.GetParameters().Select(p => p.ParameterType).ToArray();
        if (!expected.SequenceEqual(actual) || m.ReturnType != invoke.ReturnType)
        {
            var kind = (method.IsClientStreaming, method.IsServerStreaming) switch
            {
                (false, false) => "unary",
                (false, true) => "server-streaming",
                (true, false) => "client-streaming",
                _ => "bidirectional-streaming",
            };
            throw new BindingException(
                $"'{method.FullName}' is {kind}: {typeof(THandler).Name}.{m.Name} must be '" +
                string.Format(System.Globalization.CultureInfo.InvariantCulture, expectedShape, typeof(TRequest).Name, typeof(TResponse).Name, m.Name) + "'.");
        }
        return (TDelegate)Delegate.CreateDelegate(typeof(TDelegate), null, m);
    }

    private static async ValueTask DisposeAsync(THandler handler)
    {
        switch (handler)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync();
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
