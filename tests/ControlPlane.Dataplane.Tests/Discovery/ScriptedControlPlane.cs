using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>
/// A control plane whose discovery answers the test writes, so it can send them in an order (and
/// at a time) a real one only does by chance: each DeltaResources stream the node opens is handed
/// to the test as a <see cref="ScriptedStream"/> (the node's requests, a way to answer, a way to end it).
/// </summary>
public sealed class ScriptedControlPlane : IAsyncDisposable
{
    private readonly GrpcTestServer _server;
    private readonly Handler _handler;

    private ScriptedControlPlane(GrpcTestServer server, Handler handler)
    {
        _server = server;
        _handler = handler;
    }

    /// <summary>The gRPC address to give the node (Dataplane:ControlPlanes:0).</summary>
    public string Address => _server.Address.ToString().TrimEnd('/');

    public static async Task<ScriptedControlPlane> StartAsync()
    {
        var handler = new Handler();
        var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = services => services.AddSingleton(handler),
            Map = app => app.MapGrpcService<Handler>(DiscoveryReflection.Descriptor.Services[0]),
        });
        return new ScriptedControlPlane(server, handler);
    }

    /// <summary>The next stream a node opens, once it has sent its subscriptions (one request per type).</summary>
    public async Task<ScriptedStream> NextStreamAsync()
    {
        var stream = await _handler.Streams.Reader.ReadAsync().AsTask().DefaultTimeout();
        await stream.Subscribed.DefaultTimeout();
        return stream;
    }

    public async ValueTask DisposeAsync()
    {
        _handler.Streams.Writer.TryComplete();
        while (_handler.Streams.Reader.TryRead(out var stream))
        {
            stream.End();
        }
        foreach (var stream in _handler.Open)
        {
            stream.End();
        }
        await _server.DisposeAsync();
    }

    /// <summary>An EndpointSet resource for <paramref name="image"/> with one endpoint per (instance id, port).</summary>
    public static Resource EndpointSet(string image, string version, params (string InstanceId, int Port)[] endpoints)
    {
        var set = new EndpointSet { Image = image };
        foreach (var (id, port) in endpoints)
        {
            set.Endpoints.Add(DataplaneFixture.EndpointOf(id, port));
        }
        return new Resource { Name = image, Version = version, Resource_ = Any.Pack(set) };
    }

    public static Resource RoutingPolicy(string image, string version, string algorithm, string? stickyKey = null)
    {
        var policy = new RoutingPolicy { Image = image, Algorithm = algorithm, StickyKey = stickyKey ?? "" };
        return new Resource { Name = image, Version = version, Resource_ = Any.Pack(policy) };
    }

    /// <summary>One node's stream: what it asked, and the test's answers.</summary>
    public sealed class ScriptedStream
    {
        private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly HashSet<string> _subscribedTypes = new(StringComparer.Ordinal);
        private IServerStreamWriter<DeltaResourcesResponse>? _writer;
        private int _nonce;

        /// <summary>Every request after the subscriptions (the node's ACKs and NACKs), in order.</summary>
        public Channel<DeltaResourcesRequest> Answers { get; } = Channel.CreateUnbounded<DeltaResourcesRequest>();

        /// <summary>The node's id, from its first request.</summary>
        public string NodeId { get; private set; } = "";

        /// <summary>The node's subscription requests (one per type, initial_resource_versions included), in order.</summary>
        public List<DeltaResourcesRequest> Subscriptions { get; } = [];

        internal Task Subscribed => _subscribed.Task;

        internal Task Ended => _ended.Task;

        /// <summary>Sends one response of <paramref name="typeUrl"/> and returns the node's answer to it (ACK, or NACK with error_detail).</summary>
        public async Task<DeltaResourcesRequest> SendAsync(string typeUrl, string version, Resource[] resources, string[]? removed = null)
        {
            var response = new DeltaResourcesResponse { TypeUrl = typeUrl, SystemVersionInfo = version, Nonce = (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            response.Resources.Add(resources);
            response.RemovedResources.Add(removed ?? []);
            await _writer!.WriteAsync(response).DefaultTimeout();
            var answer = await Answers.Reader.ReadAsync().AsTask().DefaultTimeout();
            Assert.Equal(response.Nonce, answer.ResponseNonce);
            return answer;
        }

        /// <summary>Ends the stream (the call completes with OK), as a control plane going away would.</summary>
        public void End() => _ended.TrySetResult();

        internal async Task RunAsync(IAsyncStreamReader<DeltaResourcesRequest> requests, IServerStreamWriter<DeltaResourcesResponse> writer, ServerCallContext context)
        {
            _writer = writer;
            using var reads = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            var reading = ReadAsync(requests, reads.Token);
            await Task.WhenAny(_ended.Task, reading);
            // No read may outlive the handler: Kestrel reuses the request's stream objects.
            await reads.CancelAsync();
            await reading;
        }

        private async Task ReadAsync(IAsyncStreamReader<DeltaResourcesRequest> requests, CancellationToken cancellationToken)
        {
            try
            {
                while (await requests.MoveNext(cancellationToken))
                {
                    var request = requests.Current;
                    if (request.Node is not null)
                    {
                        NodeId = request.Node.Id;
                    }
                    if (string.IsNullOrEmpty(request.ResponseNonce) && _subscribedTypes.Add(request.TypeUrl))
                    {
                        Subscriptions.Add(request);
                        if (_subscribedTypes.Count == Dataplane.Discovery.DiscoveryState.Types.Count)
                        {
                            _subscribed.TrySetResult();
                        }
                        continue;
                    }
                    Answers.Writer.TryWrite(request);
                }
            }
#pragma warning disable CA1031 // the node went away (cancelled, reset, closed): the stream's reading ends either way
            catch (Exception)
#pragma warning restore CA1031
            {
            }
            finally
            {
                Answers.Writer.TryComplete();
            }
        }
    }

    /// <summary>controlplane.v1.DiscoveryService bound to the script; SotW is not offered.</summary>
    internal sealed class Handler
    {
        public Channel<ScriptedStream> Streams { get; } = Channel.CreateUnbounded<ScriptedStream>();

        public System.Collections.Concurrent.ConcurrentBag<ScriptedStream> Open { get; } = [];

        public Task StreamResources(IAsyncStreamReader<StreamResourcesRequest> requestStream, IServerStreamWriter<StreamResourcesResponse> responseStream, ServerCallContext context) =>
            throw new RpcException(StatusCode.Unimplemented, "this scripted control plane speaks delta only");

        public async Task DeltaResources(IAsyncStreamReader<DeltaResourcesRequest> requestStream, IServerStreamWriter<DeltaResourcesResponse> responseStream, ServerCallContext context)
        {
            var stream = new ScriptedStream();
            Open.Add(stream);
            Streams.Writer.TryWrite(stream);
            await stream.RunAsync(requestStream, responseStream, context);
        }
    }
}
