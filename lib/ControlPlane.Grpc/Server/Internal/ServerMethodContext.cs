using ControlPlane.Grpc.Compression;
using ControlPlane.Grpc.Protocol;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>What every call of one method shares: descriptor, parser, options, pipeline, logger.</summary>
internal sealed class ServerMethodContext<TRequest>
    where TRequest : class, IMessage<TRequest>, new()
{
    public ServerMethodContext(MethodDescriptor method, GrpcServerOptions options, ILogger logger)
    {
        Method = method;
        Path = "/" + method.Service.FullName + "/" + method.Name;
        Options = options;
        Logger = logger;
        Providers = options.CompressionProviders;
        DefaultResponseCompression = options.ResponseCompressionAlgorithm;
    }

    public MethodDescriptor Method { get; }

    public string Path { get; }

    public MessageParser<TRequest> RequestParser => MessageParsers<TRequest>.Instance;

    public GrpcServerOptions Options { get; }

    public CompressionProviders Providers { get; }

    public string? DefaultResponseCompression { get; }

    public ILogger Logger { get; }
}
