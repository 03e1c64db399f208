using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>
/// A node on the delta (incremental) stream. Beyond the common rules it checks, on every response:
/// a resource is only sent when its version differs from the one held (unless the node just
/// subscribed to it again), never a version the node rejected; removals only name resources the node
/// holds or asked for by name; only resources the node is (or was, in flight) interested in; an
/// empty response only as the first answer of a type on a stream; and system_version_info is the
/// version of what the node holds afterwards.
/// </summary>
internal sealed class FakeDeltaNode : FakeNode<DeltaResourcesRequest, DeltaResourcesResponse>
{
    private static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> DeltaMethod = new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    private readonly Dictionary<string, TypeView> _types = new(StringComparer.Ordinal);

    private FakeDeltaNode(Func<Metadata, INodeTransport<DeltaResourcesRequest, DeltaResourcesResponse>> connect, string id, FakeNodeOptions? options)
        : base(connect, id, options)
    {
    }

    /// <summary>A node connected over the gRPC client.</summary>
    public static async Task<FakeDeltaNode> ConnectAsync(GrpcChannel channel, string id, FakeNodeOptions? options = null)
    {
        var node = new FakeDeltaNode(Over(channel, DeltaMethod), id, options);
        await node.OpenAsync();
        return node;
    }

    /// <summary>A node whose streams open on whichever channel <paramref name="channel"/> names when each opens (failover between replicas).</summary>
    public static async Task<FakeDeltaNode> ConnectAsync(Func<GrpcChannel> channel, string id, FakeNodeOptions? options = null)
    {
        var node = new FakeDeltaNode(Over(channel, DeltaMethod), id, options);
        await node.OpenAsync();
        return node;
    }

    /// <summary>A node talking to <paramref name="host"/>'s handler in-process (see <see cref="InMemoryNodeTransport{TRequest, TResponse}"/>).</summary>
    public static async Task<FakeDeltaNode> ConnectInMemoryAsync(DiscoveryHost host, string id, FakeNodeOptions? options = null)
    {
        var service = host.Services.GetRequiredService<ControlPlane.Server.Discovery.Streams.DiscoveryService>();
        var node = new FakeDeltaNode(_ => new InMemoryNodeTransport<DeltaResourcesRequest, DeltaResourcesResponse>(service.DeltaResources, DeltaMethod.Descriptor), id, options);
        await node.OpenAsync();
        return node;
    }

    /// <summary>Subscribes to <paramref name="names"/> ("*" = wildcard; none on the first request = legacy wildcard).</summary>
    public Task SubscribeAsync(string typeUrl, params string[] names) => SubscribeAsync(typeUrl, null, names);

    /// <summary>
    /// The first request of a type on the stream, claiming to hold <paramref name="initialVersions"/>
    /// already (as a node restarted from a persisted configuration does).
    /// </summary>
    public Task SubscribeAsync(string typeUrl, IReadOnlyDictionary<string, string>? initialVersions, params string[] names) => SendAsync(seq =>
    {
        var view = View(typeUrl);
        var request = new DeltaResourcesRequest { TypeUrl = typeUrl };
        request.ResourceNamesSubscribe.AddRange(names);
        foreach (var (name, version) in initialVersions ?? new Dictionary<string, string>())
        {
            request.InitialResourceVersions[name] = version;
            view.Held[name] = new Resource { Name = name, Version = version };
        }
        if (!view.RequestedOnStream)
        {
            view.RequestedOnStream = true;
            view.LowerBound = seq;
            if (names.Length == 0)
            {
                view.Wildcard = true;
                view.WildcardTouched = seq;
            }
        }
        foreach (var name in names)
        {
            if (name == "*")
            {
                view.Wildcard = true;
                view.WildcardTouched = seq;
            }
            else
            {
                view.Names.Add(name);
                view.Touched[name] = seq;
                view.Forced[name] = seq;
            }
        }
        return request;
    });

    public Task UnsubscribeAsync(string typeUrl, params string[] names) => SendAsync(seq =>
    {
        var view = View(typeUrl);
        var request = new DeltaResourcesRequest { TypeUrl = typeUrl };
        request.ResourceNamesUnsubscribe.AddRange(names);
        foreach (var name in names)
        {
            if (name == "*")
            {
                view.Wildcard = false;
                view.WildcardTouched = seq;
                foreach (var dropped in view.Held.Keys.Where(n => !view.Names.Contains(n)).ToList())
                {
                    view.Held.Remove(dropped);
                }
            }
            else
            {
                view.Names.Remove(name);
                view.Touched[name] = seq;
                if (view.Wildcard)
                {
                    view.Forced[name] = seq;
                }
                else
                {
                    view.Held.Remove(name);
                }
            }
        }
        return request;
    });

    /// <summary>
    /// Reconnects on a new stream and subscribes again to everything, announcing what it holds in
    /// initial_resource_versions (or, with <paramref name="resume"/> false, starting from nothing).
    /// </summary>
    public async Task ReconnectAsync(bool resume = true)
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
                if (!resume)
                {
                    view.Held.Clear();
                    view.Rejected.Clear();
                }
                var request = new DeltaResourcesRequest { TypeUrl = type };
                if (view.Wildcard)
                {
                    request.ResourceNamesSubscribe.Add("*");
                }
                request.ResourceNamesSubscribe.AddRange(view.Names);
                foreach (var (name, held) in view.Held)
                {
                    request.InitialResourceVersions[name] = held.Version;
                }
                view.RequestedOnStream = true;
                view.LowerBound = seq;
                return request;
            });
        }
    }

    /// <summary>Name → version of what the node holds of <paramref name="typeUrl"/>.</summary>
    public IReadOnlyDictionary<string, string> Versions(string typeUrl)
    {
        lock (Sync)
        {
            return _types.TryGetValue(typeUrl, out var view) ? view.Held.ToDictionary(kv => kv.Key, kv => kv.Value.Version) : [];
        }
    }

    public EndpointSet? Endpoints(string image)
    {
        lock (Sync)
        {
            return _types.TryGetValue(ResourceTypes.EndpointSet, out var view) && view.Held.TryGetValue(image, out var r)
                ? EndpointSet.Parser.ParseFrom(r.Resource_.Value)
                : null;
        }
    }

    /// <summary>Responses of <paramref name="typeUrl"/> received on the current stream.</summary>
    public int ResponsesOnStream(string typeUrl)
    {
        lock (Sync)
        {
            return _types.TryGetValue(typeUrl, out var view) ? view.ResponsesOnStream : 0;
        }
    }

    /// <summary>True when the node holds exactly the cache's current resources of its subscription.</summary>
    public bool HoldsCurrent(IResourceWatch cache, string typeUrl)
    {
        lock (Sync)
        {
            if (!_types.TryGetValue(typeUrl, out var view))
            {
                return false;
            }
            var snapshot = cache.Snapshot(typeUrl);
            var expected = snapshot.Resources.Values.Where(r => view.Wildcard || view.Names.Contains(r.Name)).ToDictionary(r => r.Name, r => r.Version);
            return expected.Count == view.Held.Count && expected.All(kv => view.Held.TryGetValue(kv.Key, out var held) && held.Version == kv.Value);
        }
    }

    protected override void SetNode(DeltaResourcesRequest request, Node node) => request.Node = node;

    protected override void OnStreamOpened()
    {
        foreach (var view in _types.Values)
        {
            view.RequestedOnStream = false;
            view.ResponsesOnStream = 0;
            view.Forced.Clear();
            view.Touched.Clear();
        }
    }

    protected override Func<long, DeltaResourcesRequest>? OnResponse(DeltaResourcesResponse response)
    {
        CheckCommon(response.TypeUrl, response.Nonce, response.ControlPlaneId, response.Resources);
        if (!_types.TryGetValue(response.TypeUrl, out var view) || !view.RequestedOnStream)
        {
            Violation($"a response of '{response.TypeUrl}', which the node did not ask for on this stream");
            return null;
        }
        view.ResponsesOnStream++;
        var bound = view.LowerBound;
        var settled = view.WildcardTouched <= bound && view.Touched.Values.All(s => s <= bound);
        bool Interested(string name) => view.Wildcard || view.WildcardTouched > bound || view.Names.Contains(name) || view.Touched.GetValueOrDefault(name) > bound;

        if (response.Resources.Count == 0 && response.RemovedResources.Count == 0 && view.ResponsesOnStream > 1)
        {
            Violation($"an empty response (nonce {response.Nonce}) that is not the first answer of its type on the stream");
        }
        var removed = new HashSet<string>(response.RemovedResources, StringComparer.Ordinal);
        if (removed.Count != response.RemovedResources.Count)
        {
            Violation("removed_resources repeats a name");
        }
        string? rejection = null;
        foreach (var resource in response.Resources)
        {
            var forced = view.Forced.ContainsKey(resource.Name);
            if (removed.Contains(resource.Name))
            {
                Violation($"'{resource.Name}' is both sent and removed");
            }
            if (!Interested(resource.Name))
            {
                Violation($"'{resource.Name}' was sent, but the node is not subscribed to it");
            }
            if (!forced && view.Held.TryGetValue(resource.Name, out var held) && held.Version == resource.Version)
            {
                Violation($"'{resource.Name}' was sent again at the version the node holds ({resource.Version})");
            }
            if (!forced && view.Rejected.TryGetValue(resource.Name, out var rejected) && rejected.Version == resource.Version)
            {
                Violation($"'{resource.Name}' was sent again at version {resource.Version}, which the node rejected, with no other version in between");
            }
            rejection ??= Options.Reject?.Invoke(resource);
        }
        foreach (var name in response.RemovedResources)
        {
            if (!view.Held.ContainsKey(name) && !view.Forced.ContainsKey(name) && !view.Names.Contains(name) && !view.Rejected.ContainsKey(name)
                && view.Touched.GetValueOrDefault(name) <= bound)
            {
                Violation($"'{name}' was removed, but the node neither holds, nor asked for, nor rejected it");
            }
        }
        // Forced answers the server has surely seen are consumed by this response, whether it names them
        // or not. A later request may have forced the same name again: only the bound tells.
        foreach (var name in view.Forced.Where(kv => kv.Value <= bound).Select(kv => kv.Key).ToList())
        {
            view.Forced.Remove(name);
        }

        if (rejection is not null)
        {
            var nack = ++view.Nacks;
            foreach (var resource in response.Resources)
            {
                view.Rejected[resource.Name] = (resource.Version, nack);
            }
            return Answer(view, response.TypeUrl, response.Nonce, RejectionOf(rejection));
        }
        foreach (var resource in response.Resources)
        {
            Release(view, resource.Name); // another version came: the rejected one may come back later
            if (Interested(resource.Name) && (view.Wildcard || view.Names.Contains(resource.Name)))
            {
                view.Held[resource.Name] = resource;
            }
        }
        foreach (var name in removed)
        {
            Release(view, name);
            view.Held.Remove(name);
        }
        if (settled && response.SystemVersionInfo != SetVersion.Of(view.Held.Values))
        {
            Violation($"system_version_info {response.SystemVersionInfo} is not the version of what the node holds");
        }
        return Answer(view, response.TypeUrl, response.Nonce, null);
    }

    private static Func<long, DeltaResourcesRequest> Answer(TypeView view, string typeUrl, string nonce, Google.Rpc.Status? error) => seq =>
    {
        view.LowerBound = seq; // the next response of this type is built after the server has read this answer
        var request = new DeltaResourcesRequest { TypeUrl = typeUrl, ResponseNonce = nonce };
        if (error is not null)
        {
            request.ErrorDetail = error;
        }
        return request;
    };

    private TypeView View(string typeUrl)
    {
        if (!_types.TryGetValue(typeUrl, out var view))
        {
            _types[typeUrl] = view = new TypeView();
        }
        return view;
    }

    protected override string Describe() =>
        string.Join("; ", _types.Select(t => $"{DiscoveryShort(t.Key)}: wildcard={t.Value.Wildcard} names=[{string.Join(",", t.Value.Names)}] held=[{string.Join(",", t.Value.Held.Select(h => h.Key + "@" + h.Value.Version))}] responses={t.Value.ResponsesOnStream}"))
        + $"; stream end: {EndStatus}";

    private static string DiscoveryShort(string typeUrl) => typeUrl[(typeUrl.LastIndexOf('.') + 1)..];

    /// <summary>
    /// Something else came for <paramref name="name"/>: its rejected version may come back, and so may
    /// every other version of the NACK that rejected it (the node rejected that response as a whole).
    /// </summary>
    private static void Release(TypeView view, string name)
    {
        if (view.Rejected.Remove(name, out var rejected))
        {
            foreach (var other in view.Rejected.Where(r => r.Value.Nack == rejected.Nack).Select(r => r.Key).ToList())
            {
                view.Rejected.Remove(other);
            }
        }
    }

    private sealed class TypeView
    {
        public bool Wildcard { get; set; }

        public SortedSet<string> Names { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, Resource> Held { get; } = new(StringComparer.Ordinal);

        /// <summary>The last version rejected per name, until another version of it arrives.</summary>
        /// <summary>Versions the node rejected, by name, with the NACK that rejected them (a NACK rejects its whole response).</summary>
        public Dictionary<string, (string Version, int Nack)> Rejected { get; } = new(StringComparer.Ordinal);

        public int Nacks { get; set; }

        /// <summary>Sequence number of the last request that (un)subscribed each name, and of the last wildcard change.</summary>
        public Dictionary<string, long> Touched { get; } = new(StringComparer.Ordinal);

        public long WildcardTouched { get; set; }

        /// <summary>Names the server must answer even if unchanged, with the request that asked.</summary>
        public Dictionary<string, long> Forced { get; } = new(StringComparer.Ordinal);

        /// <summary>The next response of this type was built after the server read the request with this sequence number.</summary>
        public long LowerBound { get; set; }

        public bool RequestedOnStream { get; set; }

        public int ResponsesOnStream { get; set; }
    }
}
