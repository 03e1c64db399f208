using System.Text.Json;
using ControlPlane.Grpc.Server;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>What every REST call of one HTTP binding shares.</summary>
internal sealed class TranscodedMethodContext
{
    public TranscodedMethodContext(
        HttpRuleBinding binding, JsonTypeResolver types, GrpcServerOptions serverOptions, GrpcJsonTranscodingOptions options, ILogger serverLogger, ILogger logger)
    {
        Binding = binding;
        MethodPath = "/" + binding.Method.Service.FullName + "/" + binding.Method.Name;
        Json = new ProtoJsonWriter(types);
        Errors = new ErrorResponseWriter(Json);
        RequestBuilder = new RequestMessageBuilder(binding, types, new JsonBodyParser(types));
        InvalidRequestReason = options.InvalidRequestReason?.Invoke(binding.Method) is { Length: > 0 } reason && reason != TranscodingErrors.InvalidRequestReason ? reason : null;
        ServerOptions = serverOptions;
        Options = options;
        ServerLogger = serverLogger;
        Logger = logger;
    }

    public HttpRuleBinding Binding { get; }

    /// <summary>"/package.Service/Method", as <see cref="ServerCallContext.MethodPath"/> reports it for gRPC.</summary>
    public string MethodPath { get; }

    public ProtoJsonWriter Json { get; }

    public ErrorResponseWriter Errors { get; }

    public RequestMessageBuilder RequestBuilder { get; }

    /// <summary>The reason a request <see cref="RequestBuilder"/> refuses is answered with, when not <c>invalid_request</c>.</summary>
    public string? InvalidRequestReason { get; }

    public GrpcServerOptions ServerOptions { get; }

    public GrpcJsonTranscodingOptions Options { get; }

    /// <summary>The gRPC server's logger: handler failures are logged the same way for both protocols.</summary>
    public ILogger ServerLogger { get; }

    public ILogger Logger { get; }

    /// <summary>A response message as the rule says: the whole message, or only its <c>response_body</c> field.</summary>
    public void WriteResponse(Utf8JsonWriter writer, IMessage response)
    {
        if (Binding.ResponseBodyField is { } field)
        {
            Json.WriteFieldValue(writer, field, field.Accessor.GetValue(response));
        }
        else
        {
            Json.WriteMessage(writer, response);
        }
    }
}
