using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using ControlPlane.Server.Discovery.Auth;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// controlplane.v1.DiscoveryService: one aggregated stream per node, state-of-the-world or delta.
/// The first request must identify the node (the node its token names, when it presents a node's
/// token); the rest of the conversation belongs to the stream.
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
        var node = NodeIdentity.Validate(first.Node);
        NodeBinding.Check(context, node);
        var stream = new SotwStream(services, node, context.Peer, NodeBinding.Credential(context));
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
        var node = NodeIdentity.Validate(first.Node);
        NodeBinding.Check(context, node);
        var stream = new DeltaStream(services, node, context.Peer, NodeBinding.Credential(context));
        await stream.RunAsync(first, requestStream, responseStream, context);
    }
}
