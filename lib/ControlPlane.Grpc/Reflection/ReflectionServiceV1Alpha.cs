using ControlPlane.Grpc.Server;
using Google.Protobuf;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace ControlPlane.Grpc.Reflection;

/// <summary>
/// grpc.reflection.v1alpha.ServerReflection: the same messages on the wire as v1 under another
/// package, so each request is re-read as v1, answered by <see cref="ReflectionServiceV1"/>, and
/// the answer re-read as v1alpha.
/// </summary>
public sealed class ReflectionServiceV1Alpha(ReflectionServiceV1 v1)
{
    public async Task ServerReflectionInfo(
        IAsyncStreamReader<V1Alpha.ServerReflectionRequest> requestStream, IServerStreamWriter<V1Alpha.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        var sent = new HashSet<string>(StringComparer.Ordinal);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = V1.ServerReflectionRequest.Parser.ParseFrom(requestStream.Current.ToByteString());
            var answer = v1.Answer(request, sent);
            await responseStream.WriteAsync(V1Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString()), context.CancellationToken);
        }
    }
}
