using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// controlplane.v1.DiscoveryService: one aggregated stream per node, state-of-the-world or delta.
/// The first request must identify the node; the rest of the conversation belongs to the stream.
/// </summary>
internal sealed class DiscoveryService(StreamServices services)
{
    public async Task StreamResources(
        IAsyncStreamReader<StreamResourcesRequest> requestStream, IServerStreamWriter<StreamResourcesResponse> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return; // closed before asking for anything
        }
        var first = requestStream.Current;
        var stream = new SotwStream(services, NodeIdentity.Validate(first.Node), context.Peer);
        await stream.RunAsync(first, requestStream, responseStream, context);
    }

    public async Task DeltaResources(
        IAsyncStreamReader<DeltaResourcesRequest> requestStream, IServerStreamWriter<DeltaResourcesResponse> responseStream, ServerCallContext context)
    {
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return;
        }
        var first = requestStream.Current;
        var stream = new DeltaStream(services, NodeIdentity.Validate(first.Node), context.Peer);
        await stream.RunAsync(first, requestStream, responseStream, context);
    }
}
