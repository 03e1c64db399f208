using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>
/// A node on the state-of-the-world stream. Beyond the common rules it checks, on every response:
/// version_info is the version of exactly the resources in it; only subscribed resources are sent;
/// a set is not sent again unchanged (unless the node asked: first request on a stream, or a new
/// subscription); a rejected set is not sent again.
/// </summary>
internal sealed class FakeSotwNode : FakeNode<StreamResourcesRequest, StreamResourcesResponse>
{
    private static readonly Method<StreamResourcesRequest, StreamResourcesResponse> SotwMethod = new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("StreamResources"));

    private readonly Dictionary<string, TypeView> _types = new(StringComparer.Ordinal);

    private FakeSotwNode(Func<Metadata, INodeTransport<StreamResourcesRequest, StreamResourcesResponse>> connect, string id, FakeNodeOptions? options)
        : base(connect, id, options)
    {
    }

    /// <summary>A node connected over the gRPC client.</summary>
    public static async Task<FakeSotwNode> ConnectAsync(GrpcChannel channel, string id, FakeNodeOptions? options = null)
    {
        var node = new FakeSotwNode(Over(channel, SotwMethod), id, options);
        await node.OpenAsync();
        return node;
    }

    /// <summary>A node talking to <paramref name="host"/>'s handler in-process (see <see cref="InMemoryNodeTransport{TRequest, TResponse}"/>).</summary>
    public static async Task<FakeSotwNode> ConnectInMemoryAsync(DiscoveryHost host, string id, FakeNodeOptions? options = null)
    {
        var service = host.Services.GetRequiredService<ControlPlane.Server.Discovery.Streams.DiscoveryService>();
        var node = new FakeSotwNode(_ => new InMemoryNodeTransport<StreamResourcesRequest, StreamResourcesResponse>(service.StreamResources, SotwMethod.Descriptor), id, options);
        await node.OpenAsync();
        return node;
    }

    /// <summary>Sends the whole list of names the node wants ("*" = wildcard; empty on the first request = legacy wildcard).</summary>
    public Task SubscribeAsync(string typeUrl, params string[] names) => SendAsync(seq =>
    {
        if (!_types.TryGetValue(typeUrl, out var view))
        {
            _types[typeUrl] = view = new TypeView();
        }
        if (!view.RequestedOnStream)
        {
            view.RequestedOnStream = true;
            view.LowerBound = seq;
        }
        view.Names = [.. names];
        view.NamedSomething |= names.Length > 0;
        view.Touched = seq;
        view.Carry(seq);
        return Request(typeUrl, view);
    });

    public async Task ReconnectAsync()
    {
        await OpenAsync();
        List<string> types;
        lock (Sync)
        {
            types = [.. _types.Keys];
        }
        foreach (var type in types)
        {
            await SendAsync(seq =>
            {
                var view = _types[type];
                view.RequestedOnStream = true;
                view.LowerBound = seq;
                view.Touched = seq;
                return Request(type, view);
            });
        }
    }

    /// <summary>Name → version of what the node holds of <paramref name="typeUrl"/>.</summary>
    public IReadOnlyDictionary<string, string> Versions(string typeUrl)
    {
        lock (Sync)
        {
            return _types.TryGetValue(typeUrl, out var view) ? view.Held.ToDictionary(r => r.Name, r => r.Version) : [];
        }
    }

    public string AcceptedVersion(string typeUrl)
    {
        lock (Sync)
        {
            return _types.TryGetValue(typeUrl, out var view) ? view.Accepted : "";
        }
    }

    public int ResponsesOnStream(string typeUrl)
    {
        lock (Sync)
        {
            return _types.TryGetValue(typeUrl, out var view) ? view.ResponsesOnStream : 0;
        }
    }

    /// <summary>True when the node holds exactly the cache's current resources for its subscription.</summary>
    public bool HoldsCurrent(IResourceWatch cache, string typeUrl)
    {
        lock (Sync)
        {
            if (!_types.TryGetValue(typeUrl, out var view))
            {
                return false;
            }
            var wildcard = view.Wildcard;
            var expected = cache.Snapshot(typeUrl).Resources.Values.Where(r => wildcard || view.Names.Contains(r.Name)).Select(r => (r.Name, r.Version)).ToList();
            return expected.SequenceEqual(view.Held.Select(r => (r.Name, r.Version)));
        }
    }

    protected override void SetNode(StreamResourcesRequest request, Node node) => request.Node = node;

    protected override void OnStreamOpened()
    {
        foreach (var view in _types.Values)
        {
            view.RequestedOnStream = false;
            view.ResponsesOnStream = 0;
            view.PreviousBound = 0;
        }
    }

    protected override Func<long, StreamResourcesRequest>? OnResponse(StreamResourcesResponse response)
    {
        CheckCommon(response.TypeUrl, response.Nonce, response.ControlPlaneId, response.Resources);
        if (!_types.TryGetValue(response.TypeUrl, out var view) || !view.RequestedOnStream)
        {
            Violation($"a response of '{response.TypeUrl}', which the node did not ask for on this stream");
            return null;
        }
        view.ResponsesOnStream++;
        var bound = view.LowerBound;
        var settled = view.Touched <= bound;
        // A subscription change is answered by the first response built after the server read it: this
        // one, when the previous response may have been built before the change was read.
        var mayAnswerChange = view.Touched > view.PreviousBound;
        view.PreviousBound = bound;
        var wildcard = view.Wildcard;
        if (response.VersionInfo != SetVersion.Of(response.Resources))
        {
            Violation($"version_info {response.VersionInfo} is not the version of the {response.Resources.Count} resources sent");
        }
        if (settled && !wildcard)
        {
            foreach (var r in response.Resources.Where(r => !view.Names.Contains(r.Name)))
            {
                Violation($"'{r.Name}' was sent, but the node subscribes to [{string.Join(",", view.Names)}]");
            }
        }
        if (!mayAnswerChange && view.ResponsesOnStream > 1 && response.VersionInfo == view.Accepted)
        {
            Violation($"the set the node holds ({response.VersionInfo}) was sent again unchanged");
        }
        if (!mayAnswerChange && view.Rejected == response.VersionInfo)
        {
            Violation($"version {response.VersionInfo}, which the node rejected, was sent again with no other version in between");
        }
        var rejection = response.Resources.Select(r => Options.Reject?.Invoke(r)).FirstOrDefault(e => e is not null);
        if (rejection is not null)
        {
            view.Rejected = response.VersionInfo;
            return seq =>
            {
                view.LowerBound = seq;
                var nack = Request(response.TypeUrl, view);
                nack.ResponseNonce = response.Nonce;
                nack.ErrorDetail = RejectionOf(rejection);
                return nack;
            };
        }
        view.Held = [.. response.Resources];
        view.Accepted = response.VersionInfo;
        view.Rejected = "";
        view.Nonce = response.Nonce;
        return seq =>
        {
            // A subscription sent since this response arrived carried its nonce first, and was its ACK then.
            view.Carry(seq);
            view.LowerBound = view.CarriedAt;
            return Request(response.TypeUrl, view);
        };
    }

    /// <summary>A request carrying the node's whole list, its accepted version and the last nonce it received.</summary>
    private static StreamResourcesRequest Request(string typeUrl, TypeView view)
    {
        var request = new StreamResourcesRequest { TypeUrl = typeUrl, VersionInfo = view.Accepted, ResponseNonce = view.Nonce };
        request.ResourceNames.AddRange(view.Names);
        return request;
    }

    protected override string Describe() =>
        string.Join("; ", _types.Select(t => $"{t.Key[(t.Key.LastIndexOf('.') + 1)..]}: names=[{string.Join(",", t.Value.Names)}] accepted={t.Value.Accepted} held=[{string.Join(",", t.Value.Held.Select(h => h.Name + "@" + h.Version))}] responses={t.Value.ResponsesOnStream}"))
        + $"; stream end: {EndStatus}";

    private sealed class TypeView
    {
        public List<string> Names { get; set; } = [];

        /// <summary>Once a name (or "*") was sent, an empty list means nothing rather than wildcard.</summary>
        public bool NamedSomething { get; set; }

        public bool Wildcard => Names.Contains("*") || (Names.Count == 0 && !NamedSomething);

        public List<Resource> Held { get; set; } = [];

        public string Accepted { get; set; } = "";

        public string Nonce { get; set; } = "";

        /// <summary>The last version rejected, until another one is accepted.</summary>
        public string Rejected { get; set; } = "";

        public long Touched { get; set; }

        public long LowerBound { get; set; }

        /// <summary>The nonce last carried by a request, and that request's sequence number: the first to carry it.</summary>
        public string CarriedNonce { get; private set; } = "";

        public long CarriedAt { get; private set; }

        /// <summary>Notes that request <paramref name="seq"/> carries <see cref="Nonce"/>: the server takes the first to carry it as the ACK.</summary>
        public void Carry(long seq)
        {
            if (CarriedNonce != Nonce)
            {
                CarriedNonce = Nonce;
                CarriedAt = seq;
            }
        }

        /// <summary>The lower bound of the previous response of this type.</summary>
        public long PreviousBound { get; set; }

        public bool RequestedOnStream { get; set; }

        public int ResponsesOnStream { get; set; }
    }
}
