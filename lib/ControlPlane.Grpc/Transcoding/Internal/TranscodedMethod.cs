using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Internal;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Serves one HTTP binding of a method: reads the body (bounded), runs the method's interceptor
/// pipeline and handler with a <see cref="TranscodedCall{TRequest, TResponse}"/>, and answers with
/// the response JSON or the status as a JSON error, mirroring how <c>ServerCall</c> ends a gRPC call.
/// </summary>
internal sealed class TranscodedMethod<TRequest, TResponse>(TranscodedMethodContext method, ServerCallContinuation pipeline)
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>
{
    public async Task HandleAsync(HttpContext http, string[] pathValues)
    {
        var body = ReadOnlyMemory<byte>.Empty;
        var unexpectedBody = false;
        try
        {
            if (method.Binding.Body != BodyMapping.None)
            {
                body = await RequestBodyReader.ReadAsync(http, method.Options.MaxRequestBodySize, http.RequestAborted);
            }
            else
            {
                // Ignored, a body would be a request the caller did not mean ("-d '{"window":"5m"}'" exporting
                // the default 1h); it is refused when the request message is built, after the interceptors.
                unexpectedBody = !await RequestBodyReader.IsEmptyAsync(http, http.RequestAborted);
            }
        }
        catch (HttpRefusalException refusal)
        {
            TranscodingLog.Refused(method.Logger, method.MethodPath, refusal.HttpStatus, refusal.Status.Detail);
            await WriteAsync(http, refusal.HttpStatus, w => method.Errors.Write(w, refusal.Status), []);
            return;
        }
        catch (Exception ex) when (IsClientGone(http, ex))
        {
            return;
        }

        using var call = new TranscodedCall<TRequest, TResponse>(method, http, pathValues, body, unexpectedBody);
        Status status;
        try
        {
            await pipeline(call);
            status = call.Status;
        }
        catch (Exception ex)
        {
            status = StatusFromException(call, ex);
        }
        if (call.ClientGone)
        {
            return;
        }
        if (status.StatusCode == StatusCode.OK)
        {
            await WriteSuccessAsync(http, call);
        }
        else
        {
            await WriteFailureAsync(http, call, status);
        }
    }

    private async Task WriteSuccessAsync(HttpContext http, TranscodedCall<TRequest, TResponse> call)
    {
        if (method.Binding.Method.IsServerStreaming)
        {
            try
            {
                await call.CompleteStreamAsync();
            }
            catch (Exception ex) when (IsClientGone(http, ex))
            {
                TranscodingLog.ResponseWriteFailed(method.Logger, method.MethodPath, ex);
            }
            return;
        }
        if (call.Response is not { } response)
        {
            await WriteFailureAsync(http, call, new Status(StatusCode.Internal, "The handler returned no response message."));
            return;
        }
        System.Buffers.ArrayBufferWriter<byte> rendered;
        try
        {
            rendered = JsonResponse.Render(w => method.WriteResponse(w, response));
        }
        catch (Exception ex)
        {
            // A response JSON cannot express (an Any of an unknown type, an out-of-range Timestamp): a server bug,
            // answered like a handler failure instead of leaving the client with an empty 500.
            TranscodingLog.ResponseRenderFailed(method.Logger, method.MethodPath, ex);
            var detail = method.ServerOptions.EnableDetailedErrors
                ? $"The response could not be written as JSON. {ex.GetType().Name}: {ex.Message}"
                : "The response could not be written as JSON.";
            await WriteFailureAsync(http, call, new Status(StatusCode.Internal, detail));
            return;
        }
        await WriteRenderedAsync(http, StatusCodes.Status200OK, rendered, call.ResponseMetadata);
    }

    private Task WriteFailureAsync(HttpContext http, TranscodedCall<TRequest, TResponse> call, Status status)
    {
        if (call.ResponseStarted)
        {
            // The 200 and part of the array are gone: the only honest signal left is to cut the
            // response short, so the client sees an incomplete body rather than a clean end.
            TranscodingLog.StreamAborted(method.Logger, method.MethodPath, status.StatusCode, status.Detail);
            http.Abort();
            return Task.CompletedTask;
        }
        return WriteAsync(http, HttpStatusMapping.ToHttpStatus(status.StatusCode), w => method.Errors.Write(w, status), call.ResponseMetadata);
    }

    private Task WriteAsync(HttpContext http, int statusCode, Action<System.Text.Json.Utf8JsonWriter> write, IEnumerable<Metadata.Entry> headers) =>
        WriteRenderedAsync(http, statusCode, JsonResponse.Render(write), headers);

    private async Task WriteRenderedAsync(HttpContext http, int statusCode, System.Buffers.ArrayBufferWriter<byte> body, IEnumerable<Metadata.Entry> headers)
    {
        try
        {
            await JsonResponse.WriteAsync(http, statusCode, body, headers);
        }
        catch (Exception ex) when (IsClientGone(http, ex))
        {
            TranscodingLog.ResponseWriteFailed(method.Logger, method.MethodPath, ex);
        }
    }

    /// <summary>The same mapping as a gRPC call's (ServerCall): RpcException as is, anything else UNKNOWN and logged.</summary>
    private Status StatusFromException(TranscodedCall<TRequest, TResponse> call, Exception ex)
    {
        if (call.DeadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        switch (ex)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    call.ResponseTrailers.Add(entry);
                }
                if (rpc.StatusCode is StatusCode.Internal or StatusCode.ResourceExhausted or StatusCode.Unimplemented)
                {
                    ServerLog.ProtocolError(method.ServerLogger, method.MethodPath, rpc.StatusCode, rpc.Status.Detail);
                }
                return rpc.Status;
            case var _ when call.ClientGone:
                return new Status(StatusCode.Cancelled, "Call canceled by the client.");
            default:
                ServerLog.HandlerFailed(method.ServerLogger, method.MethodPath, ex);
                var detail = method.ServerOptions.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {ex.GetType().Name}: {ex.Message}"
                    : "Exception was thrown by handler.";
                return new Status(StatusCode.Unknown, detail);
        }
    }

    private static bool IsClientGone(HttpContext http, Exception ex) =>
        http.RequestAborted.IsCancellationRequested
        || ex is ConnectionResetException or ConnectionAbortedException
        || (ex is IOException and not BadHttpRequestException);
}
