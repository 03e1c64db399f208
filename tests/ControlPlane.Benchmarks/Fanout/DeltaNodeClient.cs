using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// A lean dataplane node for the benchmark: one DeltaResources stream, a wildcard subscription to
/// endpoint sets, and an ACK for every response (echoing its nonce), sent after the response has
/// been handed to the observer. It asserts nothing about the protocol (the server's tests have a fake
/// node that does); it counts what it received. Bytes are the gRPC messages as they arrive: each
/// message's protobuf size plus its 5-byte length prefix (HTTP/2 frame headers not counted).
/// </summary>
internal sealed class DeltaNodeClient
{
    public static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> DeltaResources =
        new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    /// <summary>The gRPC length prefix before every message: a compression flag and a 4-byte length.</summary>
    public const int MessagePrefixBytes = 5;

    private readonly AsyncDuplexStreamingCall<DeltaResourcesRequest, DeltaResourcesResponse> _call;
    private readonly Action<DeltaNodeClient, DeltaResourcesResponse, int> _onResponse;
    private long _bytes;
    private int _responses;
    private int _resources;
    private volatile bool _closing;

    private DeltaNodeClient(int index, GrpcChannel channel, Action<DeltaNodeClient, DeltaResourcesResponse, int> onResponse)
    {
        Index = index;
        _onResponse = onResponse;
        _call = channel.AsyncDuplexStreamingCall(DeltaResources);
    }

    /// <summary>The node's position among the benchmark's nodes (its watcher number).</summary>
    public int Index { get; }

    /// <summary>Bytes of every message received so far (see the class summary).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytes);

    public int ResponsesReceived => Volatile.Read(ref _responses);

    /// <summary>Resources (added or changed, not removals) in every response so far.</summary>
    public int ResourcesReceived => Volatile.Read(ref _resources);

    /// <summary>Reads the stream until it is closed; faults when the server ends it, or the observer throws.</summary>
    public Task Reader { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Opens the stream on <paramref name="channel"/> as node <paramref name="nodeId"/> and subscribes
    /// to every endpoint set. <paramref name="onResponse"/> sees each response (and its bytes) on the
    /// reader, before its ACK is sent; what it throws ends the node's reader.
    /// </summary>
    public static async Task<DeltaNodeClient> OpenAsync(
        GrpcChannel channel, int index, string nodeId, string zone, Action<DeltaNodeClient, DeltaResourcesResponse, int> onResponse, CancellationToken cancellationToken)
    {
        var node = new DeltaNodeClient(index, channel, onResponse);
        node.Reader = node.ReadAsync();
        var subscribe = new DeltaResourcesRequest
        {
            Node = new Node { Id = nodeId, Zone = zone, UserAgentName = "controlplane-benchmark" },
            TypeUrl = ResourceTypes.EndpointSet,
            ResourceNamesSubscribe = { "*" },
        };
        await node._call.RequestStream.WriteAsync(subscribe, cancellationToken);
        return node;
    }

    private async Task ReadAsync()
    {
        await Task.Yield();
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
                var response = _call.ResponseStream.Current;
                var bytes = response.CalculateSize() + MessagePrefixBytes;
                Interlocked.Add(ref _bytes, bytes);
                Interlocked.Add(ref _resources, response.Resources.Count);
                Interlocked.Increment(ref _responses);
                _onResponse(this, response, bytes);
                await _call.RequestStream.WriteAsync(new DeltaResourcesRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });
            }
            if (!_closing)
            {
                throw new InvalidOperationException($"The control plane ended node {Index}'s stream with {_call.GetStatus()}.");
            }
        }
        catch (Exception) when (_closing)
        {
            // Closed by the benchmark.
        }
    }

    /// <summary>Ends the stream (the server sees the node leave).</summary>
    public void Close()
    {
        _closing = true;
        _call.Dispose();
    }
}
