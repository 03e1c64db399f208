using ControlPlane.Grpc.Server;
using Google.Protobuf;
using Grpc.Reflection.V1;

namespace ControlPlane.Grpc.Reflection;

/// <summary>
/// grpc.reflection.v1.ServerReflection over the services bound on this server, so grpcurl and
/// buf curl can list, describe and call them. One response per request, in order; a file's
/// imports are sent with it unless this stream already sent them.
/// </summary>
public sealed class ReflectionServiceV1
{
    private readonly GrpcServiceRegistry _registry;
    private DescriptorIndex? _index;

    public ReflectionServiceV1(GrpcServiceRegistry registry)
    {
        _registry = registry;
        registry.ServiceAdded += _ => _index = null;
    }

    public async Task ServerReflectionInfo(
        IAsyncStreamReader<ServerReflectionRequest> requestStream, IServerStreamWriter<ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        var sent = new HashSet<string>(StringComparer.Ordinal);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var response = Answer(requestStream.Current, sent);
            await responseStream.WriteAsync(response, context.CancellationToken);
        }
    }

    internal ServerReflectionResponse Answer(ServerReflectionRequest request, ISet<string> sent)
    {
        var index = _index ??= new DescriptorIndex(_registry.Services);
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                list.Service.AddRange(index.Services.Select(s => new ServiceResponse { Name = s }));
                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, index.FindFile(request.FileByFilename), sent, $"File not found: {request.FileByFilename}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, index.FindSymbol(request.FileContainingSymbol), sent, $"Symbol not found: {request.FileContainingSymbol}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                var ext = request.FileContainingExtension;
                SetFile(response, index.FindExtension(ext.ContainingType, ext.ExtensionNumber), sent,
                    $"Extension not found: {ext.ContainingType}({ext.ExtensionNumber})");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                var numbers = index.ExtensionNumbers(request.AllExtensionNumbersOfType);
                if (numbers is null)
                {
                    SetError(response, StatusCode.NotFound, $"Type not found: {request.AllExtensionNumbersOfType}");
                }
                else
                {
                    var r = new ExtensionNumberResponse { BaseTypeName = request.AllExtensionNumbersOfType.TrimStart('.') };
                    r.ExtensionNumber.AddRange(numbers);
                    response.AllExtensionNumbersResponse = r;
                }
                break;
            default:
                SetError(response, StatusCode.InvalidArgument, "The request names no reflection query.");
                break;
        }
        return response;
    }

    private static void SetFile(ServerReflectionResponse response, Google.Protobuf.Reflection.FileDescriptor? file, ISet<string> sent, string notFound)
    {
        if (file is null)
        {
            SetError(response, StatusCode.NotFound, notFound);
            return;
        }
        var files = new FileDescriptorResponse();
        // A file asked for again is sent again (the client asked), but its known imports are not.
        sent.Remove(file.Name);
        files.FileDescriptorProto.AddRange(DescriptorIndex.WithDependencies(file, sent).Select(f => f.SerializedData));
        response.FileDescriptorResponse = files;
    }

    private static void SetError(ServerReflectionResponse response, StatusCode code, string message) =>
        response.ErrorResponse = new ErrorResponse { ErrorCode = (int)code, ErrorMessage = message };
}
