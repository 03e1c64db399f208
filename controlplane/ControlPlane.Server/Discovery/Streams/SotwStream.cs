using ControlPlane.Api.V1;
using ControlPlane.Server.Discovery.Cache;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// A state-of-the-world stream (StreamResources): every response carries the complete subscribed set
/// of one type, and its version_info is that set's version (<see cref="ResourceSetVersion"/>).
/// Reads top to bottom: a request (subscription, ACK, NACK), then what the next response is.
/// </summary>
internal sealed class SotwStream(StreamServices services, Node node, string peer, string credential)
    : DiscoveryStream<StreamResourcesRequest, StreamResourcesResponse, SotwStream.State>(services, node, peer, credential)
{
    public override string Variant => "sotw";

    protected override Node? NodeOf(StreamResourcesRequest request) => request.Node;

    protected override string StorePositionOf(StreamResourcesRequest request) => request.StorePosition;

    protected override bool HandleCore(StreamResourcesRequest request)
    {
        var type = NodeIdentity.RequireType(request.TypeUrl);
        NodeIdentity.RequireNames(request.ResourceNames, "resource_names", Services.Options.MaxResourceNamesPerRequest);
        var first = !Types.TryGetValue(type, out var state);
        if (first)
        {
            state = new State(type);
            Types.Add(state);
        }

        // ACK or NACK of the latest response; a stale nonce's ACK/NACK is ignored, but the subscription
        // it carries still applies (discovery.proto; the node always sends its whole current list).
        var answered = Answer(state!, request.ResponseNonce, request.ErrorDetail);

        var changed = Subscribe(state!, request.ResourceNames);
        // The first request of a type on a stream is always answered, even when the node already holds
        // the current version (discovery.proto); a subscription change is answered with the new set
        // (xDS: "the server must resend any newly requested resources").
        if (first || changed)
        {
            state!.Respond = true;
            MarkPending(state);
            return true;
        }
        return answered && state!.HasWork;
    }

    /// <summary>
    /// Applies a resource_names list; true when the subscription changed. "*" is a wildcard; an empty
    /// list means wildcard only until the node has named something on this stream, and from then on
    /// means "nothing" (xDS "How the client specifies what resources to return", legacy wildcard).
    /// </summary>
    private static bool Subscribe(State state, IReadOnlyCollection<string> names)
    {
        bool wildcard;
        var explicitNames = new SortedSet<string>(StringComparer.Ordinal);
        if (names.Count == 0 && !state.NamedSomething)
        {
            wildcard = true;
        }
        else
        {
            state.NamedSomething |= names.Count > 0;
            wildcard = false;
            foreach (var name in names)
            {
                if (name == "*")
                {
                    wildcard = true;
                }
                else
                {
                    explicitNames.Add(name);
                }
            }
        }
        var changed = wildcard != state.Wildcard || !explicitNames.SetEquals(state.Names);
        state.Wildcard = wildcard;
        if (changed)
        {
            state.Names.Clear();
            state.Names.UnionWith(explicitNames);
        }
        return changed;
    }

    protected override bool MarkChanged(State state, IReadOnlySet<string> names)
    {
        var affected = state.Wildcard
            || (state.Names.Count <= names.Count ? state.Names.Any(names.Contains) : names.Any(state.Names.Contains));
        state.Dirty |= affected;
        return affected;
    }

    protected override StreamResourcesResponse? BuildNext()
    {
        foreach (var state in Types.Values)
        {
            // One response per type in flight: the next waits for the node's answer (go-control-plane's
            // SotW flow), and changes made meanwhile are merged into it.
            if (state.AwaitingAck || !state.HasWork)
            {
                continue;
            }
            var position = StorePositionNow();
            var resources = Select(state);
            var version = ResourceSetVersion.Of(resources);
            state.Dirty = false;
            if (!state.Respond && (version == state.VersionSent || version == state.VersionRejected))
            {
                // The node has this set already, or rejected it and must not get it again.
                NothingDue(state);
                continue;
            }
            var bytes = resources.Sum(r => (long)r.Size);
            if (bytes > Services.MaxResourceBytes)
            {
                // A state-of-the-world response cannot be split. Sent, it would end the stream (over the
                // send limit) on every reconnect, and with it the node's other types: the node keeps the
                // set it holds until this one fits again.
                Services.TooLarge(NodeId, state.TypeUrl, $"the set of {resources.Count} resources", version, bytes);
                NothingDue(state);
                continue;
            }
            var response = new StreamResourcesResponse
            {
                TypeUrl = state.TypeUrl,
                VersionInfo = version,
                Nonce = NextNonce(),
                ControlPlaneId = Services.ControlPlaneId,
                StorePosition = position,
            };
            foreach (var resource in resources)
            {
                response.Resources.Add(resource.Wire);
            }
            state.Count = resources.Count;
            Sent(state, version, response.Nonce);
            return response;
        }
        return null;
    }

    protected override string CurrentVersion(State state) =>
        state.Wildcard ? Services.Cache.Snapshot(state.TypeUrl).Version : ResourceSetVersion.Of(Select(state));

    /// <summary>The subscribed resources that exist, ordered by name (a wildcard covers every named one).</summary>
    private List<VersionedResource> Select(State state)
    {
        var snapshot = Services.Cache.Snapshot(state.TypeUrl);
        if (state.Wildcard)
        {
            return [.. snapshot.Resources.Values];
        }
        List<VersionedResource> selected = [];
        foreach (var name in state.Names)
        {
            if (snapshot.Find(name) is { } resource)
            {
                selected.Add(resource);
            }
        }
        return selected;
    }

    internal sealed class State(string typeUrl) : TypeState(typeUrl)
    {
        /// <summary>A change touched the subscription since the last response.</summary>
        public bool Dirty { get; set; }

        /// <summary>The node has named a resource (or "*") on this stream: an empty list no longer means wildcard.</summary>
        public bool NamedSomething { get; set; }

        /// <summary>Resources in the last response.</summary>
        public int Count { get; set; }

        public override bool HasWork => Respond || Dirty;

        public override int QueueDepth => HasWork ? 1 : 0;

        public override int ResourceCount => Count;
    }
}
