using System.Collections.Immutable;
using System.Text;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Discovery.Cache;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// An incremental stream (DeltaResources): responses carry only resources whose version differs from
/// what the node holds, plus explicit removals. The server keeps, per type, what the node holds
/// (name → version), so a reconnecting node that sends initial_resource_versions gets exactly what
/// changed while it was away. system_version_info is the version of what the node holds of the type
/// after applying the response (<see cref="ResourceSetVersion"/>; for a wildcard subscription, the
/// version of the whole type). Reads top to bottom: a request, then what the next response is.
/// </summary>
internal sealed class DeltaStream(StreamServices services, Node node, string peer, string credential)
    : DiscoveryStream<DeltaResourcesRequest, DeltaResourcesResponse, DeltaStream.State>(services, node, peer, credential)
{
    /// <summary>Above this many changed names in one batch, a wildcard subscription rescans the type instead of queueing each name.</summary>
    private const int RescanThreshold = 256;

    public override string Variant => "delta";

    protected override Node? NodeOf(DeltaResourcesRequest request) => request.Node;

    protected override string StorePositionOf(DeltaResourcesRequest request) => request.StorePosition;

    protected override bool HandleCore(DeltaResourcesRequest request)
    {
        var max = Services.Options.MaxResourceNamesPerRequest;
        var type = NodeIdentity.RequireType(request.TypeUrl);
        NodeIdentity.RequireNames(request.ResourceNamesSubscribe, "resource_names_subscribe", max);
        NodeIdentity.RequireNames(request.ResourceNamesUnsubscribe, "resource_names_unsubscribe", max);
        if (request.InitialResourceVersions.Count > 0)
        {
            NodeIdentity.RequireNames(request.InitialResourceVersions.Keys, "initial_resource_versions", max);
        }
        var first = !Types.TryGetValue(type, out var state);
        if (!first && request.ResourceNamesSubscribe.Count > 0)
        {
            RequireRoomFor(state!, request.ResourceNamesSubscribe, max);
        }
        if (first)
        {
            state = new State(type);
            Types.Add(state);
        }

        // ACK/NACK of the latest response (a stale nonce's is ignored); subscription changes apply
        // whatever the nonce (xDS "Incremental xDS": the server must honor subscription changes even
        // if the nonce is stale).
        var answered = Answer(state!, request.ResponseNonce, request.ErrorDetail);
        if (answered)
        {
            Settle(state!, request.ErrorDetail is null ? null : new Nack(++state!.Nacks, state.VersionRejected, state.RejectionError!, state.RejectedAt!.Value));
        }

        if (first)
        {
            // No subscribe and no unsubscribe on the first request: a wildcard subscription (xDS legacy rule).
            state!.Wildcard = request.ResourceNamesSubscribe.Count == 0 && request.ResourceNamesUnsubscribe.Count == 0;
            // Resume: what the node holds from an earlier stream. Only on the first request of a type.
            foreach (var (name, version) in request.InitialResourceVersions)
            {
                if (name != "*")
                {
                    state.Hold(VersionedResource.Claimed(type, name, version));
                }
            }
            state.Rescan = true;
            state.Respond = true; // the first request of a type is always answered (discovery.proto)
        }
        // Indexed loops: enumerating a RepeatedField allocates, and an ACK carries none of these.
        for (var i = 0; i < request.ResourceNamesSubscribe.Count; i++)
        {
            var name = request.ResourceNamesSubscribe[i];
            if (name == "*")
            {
                state!.Rescan |= !state.Wildcard;
                state.Wildcard = true;
                continue;
            }
            state!.Names.Add(name);
            // xDS "Subscribing to Resources": a subscribed name must be answered even if the server thinks
            // the node has it. On the first request, initial_resource_versions says what it has.
            if (!first || !state.Held.ContainsKey(name))
            {
                state.Forced.Add(name);
            }
        }
        for (var i = 0; i < request.ResourceNamesUnsubscribe.Count; i++)
        {
            var name = request.ResourceNamesUnsubscribe[i];
            if (name == "*")
            {
                if (state!.Wildcard)
                {
                    state.Wildcard = false;
                    state.ForgetOutOfScope(); // the node drops what it held only through the wildcard
                }
                continue;
            }
            state!.Names.Remove(name);
            if (state.Wildcard)
            {
                // xDS "Unsubscribing from Resources": with a wildcard too, the node cannot tell whether it
                // should keep the resource; answer it (as a resource if it exists, else a removal).
                state.Forced.Add(name);
            }
            else
            {
                state.Forget(name); // no answer needed: the node drops it
            }
        }
        if (!state!.AwaitingAck && state.VersionAcked.Length > 0)
        {
            // Unsubscribing drops resources on the node without a response: what it holds acknowledged changed.
            state.VersionAcked = AckedVersion(state);
        }
        if (state.HasWork && (first || request.ResourceNamesSubscribe.Count > 0 || request.ResourceNamesUnsubscribe.Count > 0 || answered))
        {
            MarkPending(state);
            return true;
        }
        return false;
    }

    /// <summary>
    /// A stream's named subscriptions of a type are bounded as one request's are: a node that keeps
    /// subscribing new names (each request within the limit) must not grow the server's memory without
    /// end. Checked before anything of the request applies, so a refused one changes nothing.
    /// </summary>
    private static void RequireRoomFor(State state, IList<string> subscribe, int max)
    {
        if (state.Names.Count + subscribe.Count <= max)
        {
            return;
        }
        var added = subscribe.Where(n => n != "*" && !state.Names.Contains(n)).Distinct(StringComparer.Ordinal).Count();
        if (state.Names.Count + added > max)
        {
            throw RpcErrors.InvalidArgument(NodeIdentity.Reason, [new("resource_names_subscribe",
                $"would subscribe the stream to {state.Names.Count + added} names of {state.TypeUrl}; at most {max} (a wildcard subscription names none)")]);
        }
    }

    /// <summary>Under the lock: the node answered the outstanding response; a NACK (<paramref name="rejection"/>) puts back what it held before.</summary>
    private static void Settle(State state, Nack? rejection)
    {
        if (rejection is not null)
        {
            foreach (var (name, previous, sent) in state.Outstanding)
            {
                if (!state.InScope(name))
                {
                    continue;
                }
                // Not sent again until it changes: "" marks a rejected removal. Every name refers to
                // the one NACK, so its kept error is stored once however many names it rejected.
                state.Rejected[name] = (sent ?? "", rejection);
                if (previous is not null)
                {
                    state.Hold(previous);
                }
                else
                {
                    state.Release(name);
                }
            }
        }
        state.Outstanding.Clear();
    }

    protected override bool MarkChanged(State state, IReadOnlySet<string> names)
    {
        if (state.Wildcard)
        {
            if (names.Count > RescanThreshold)
            {
                state.Rescan = true;
            }
            else
            {
                AddAll(state.Dirty, names);
            }
            return true;
        }
        var before = state.Dirty.Count;
        if (state.Names.Count <= names.Count)
        {
            foreach (var name in state.Names)
            {
                if (names.Contains(name))
                {
                    state.Dirty.Add(name);
                }
            }
        }
        else
        {
            foreach (var name in names)
            {
                if (state.Names.Contains(name))
                {
                    state.Dirty.Add(name);
                }
            }
        }
        return state.Dirty.Count > before;
    }

    /// <summary>
    /// Adds a change batch's names. The cache's batches are hash sets, enumerated here without the
    /// boxed enumerator UnionWith would take: this runs once per stream and change.
    /// </summary>
    private static void AddAll(HashSet<string> target, IReadOnlySet<string> names)
    {
        if (names is HashSet<string> set)
        {
            foreach (var name in set)
            {
                target.Add(name);
            }
            return;
        }
        target.UnionWith(names);
    }

    protected override DeltaResourcesResponse? BuildNext()
    {
        foreach (var state in Types.Values)
        {
            // One response per type in flight, so a NACK always names the latest response.
            if (state.AwaitingAck || !state.HasWork)
            {
                continue;
            }
            if (Build(state) is { } response)
            {
                return response;
            }
        }
        return null;
    }

    /// <summary>The node is sent something new for <paramref name="name"/>: its rejection, if any, no longer holds, nor its NACK's.</summary>
    private static void Lift(State state, string name, ref HashSet<Nack>? lifted)
    {
        if (state.Rejected.Remove(name, out var rejection))
        {
            (lifted ??= []).Add(rejection.By);
        }
    }

    /// <summary>
    /// Whether <paramref name="size"/> more bytes keep this part within <paramref name="budget"/> (a
    /// part's first item always fits); if not, the name waits for the next part, still forced if it was.
    /// </summary>
    private static bool Fits(State state, string name, bool forced, ref int bytes, int size, int budget)
    {
        if (bytes > 0 && bytes + size > budget)
        {
            state.Dirty.Add(name);
            if (forced)
            {
                state.Forced.Add(name);
            }
            return false;
        }
        bytes += size;
        return true;
    }

    private DeltaResourcesResponse? Build(State state)
    {
        var position = StorePositionNow();
        var snapshot = Services.Cache.Snapshot(state.TypeUrl);
        var candidates = Candidates(state, snapshot);
        state.Dirty.Clear();
        state.Rescan = false;
        var edits = t_heldEdits ??= [];
        edits.Clear();

        var response = new DeltaResourcesResponse { TypeUrl = state.TypeUrl, ControlPlaneId = Services.ControlPlaneId, StorePosition = position };
        var budget = Services.Options.MaxDeltaResponseBytes;
        var bytes = 0;
        HashSet<Nack>? lifted = null;
        foreach (var name in candidates)
        {
            if (bytes >= budget)
            {
                // Split: the rest follows once the node has answered this part.
                state.Dirty.Add(name);
                continue;
            }
            var forced = state.Forced.Remove(name);
            if (!state.InScope(name))
            {
                state.Forget(name);
                continue;
            }
            var current = snapshot.Find(name);
            var holding = state.Held.GetValueOrDefault(name);
            var held = holding?.Version;
            string? rejected = state.Rejected.TryGetValue(name, out var rejection) ? rejection.Version : null;
            if (current is not null)
            {
                if (!forced && (current.Version == held || current.Version == rejected))
                {
                    continue; // the node has this version, or rejected it
                }
                if (current.Size > Services.MaxResourceBytes)
                {
                    // Sent, it would end the stream (over the send limit) on every reconnect, and with it
                    // every other resource's changes: the node keeps what it holds of this one.
                    Services.TooLarge(NodeId, state.TypeUrl, $"resource '{name}'", current.Version, current.Size);
                    continue;
                }
                if (!Fits(state, name, forced, ref bytes, current.Size, budget))
                {
                    continue;
                }
                response.Resources.Add(current.Wire);
                state.Outstanding.Add((name, holding, current.Version));
                edits.Add((name, current));
                Lift(state, name, ref lifted);
            }
            else if (held is not null)
            {
                if (!forced && rejected is { Length: 0 })
                {
                    continue; // the node rejected this removal
                }
                if (!Fits(state, name, forced, ref bytes, RemovalSize(name), budget))
                {
                    continue;
                }
                response.RemovedResources.Add(name);
                state.Outstanding.Add((name, holding, null));
                edits.Add((name, null));
                // A rejection holds only while the node keeps what it fell back to. Once the name is
                // removed, a resource that comes into existence again must be sent whatever its version
                // (xDS "Knowing When a Requested Resource Does Not Exist"), even one rejected before.
                Lift(state, name, ref lifted);
            }
            else if (forced || rejected is { Length: > 0 })
            {
                // Not there, and the node does not hold it: a name it asked for (xDS "Knowing When a
                // Requested Resource Does Not Exist"), or one it rejected that has gone since. Either way
                // it is told, and a rejection of the name, with the rest of its NACK, holds no more.
                if (!Fits(state, name, forced, ref bytes, RemovalSize(name), budget))
                {
                    continue;
                }
                response.RemovedResources.Add(name);
                state.Outstanding.Add((name, null, null));
                Lift(state, name, ref lifted);
            }
        }
        candidates.Clear();
        if (lifted is not null)
        {
            // A node rejects a response as a whole, so one bad resource also held back the others of
            // its NACK: now that one of them has changed, they are offered again (a node that rejects
            // them anew says so; nothing repeats without a change).
            var again = state.Rejected.Where(r => lifted.Contains(r.Value.By)).Select(r => r.Key).ToList();
            foreach (var name in again)
            {
                state.Rejected.Remove(name);
                state.Dirty.Add(name);
            }
            if (again.Count > 0 && response.Resources.Count == 0 && response.RemovedResources.Count == 0)
            {
                return Build(state); // nothing else to send: they go now
            }
        }
        if (response.Resources.Count == 0 && response.RemovedResources.Count == 0 && !state.Respond)
        {
            NothingDue(state);
            return null;
        }
        state.Apply(edits, snapshot);
        edits.Clear();
        response.SystemVersionInfo = state.HeldVersion(snapshot);
        response.Nonce = NextNonce();
        Sent(state, response.SystemVersionInfo, response.Nonce);
        return response;
    }

    /// <summary>
    /// What a name in removed_resources adds to a response (its bytes, its tag and length): removals
    /// count against the split budget as resources do, or a node that unsubscribes from (or asks for)
    /// many names at once would get one response past the message size limit.
    /// </summary>
    private static int RemovalSize(string name) => Encoding.UTF8.GetByteCount(name) + 4;

    /// <summary>
    /// Scratch lists of the response being built, one per thread: a response is built under its
    /// stream's lock without awaiting, and each stream would otherwise allocate them per push.
    /// </summary>
    [ThreadStatic]
    private static List<string>? t_candidates;

    [ThreadStatic]
    private static List<(string Name, VersionedResource? Resource)>? t_heldEdits;

    /// <summary>The names to compare, in ordinal order (so responses are stable): what changed or must be answered, and on a rescan everything in scope or held.</summary>
    private static List<string> Candidates(State state, ResourceTypeSnapshot snapshot)
    {
        var names = t_candidates ??= [];
        names.Clear();
        if (state.Rescan)
        {
            var all = new SortedSet<string>(state.Dirty, StringComparer.Ordinal);
            all.UnionWith(state.Forced);
            if (state.Wildcard)
            {
                all.UnionWith(snapshot.Resources.Keys);
            }
            all.UnionWith(state.Names);
            all.UnionWith(state.Held.Keys);
            names.AddRange(all);
            return names;
        }
        // The usual push: a few changed names; a sorted list costs less than a tree.
        foreach (var name in state.Dirty)
        {
            names.Add(name);
        }
        foreach (var name in state.Forced)
        {
            if (!state.Dirty.Contains(name))
            {
                names.Add(name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public override int PrivateResourceEntries
    {
        get
        {
            lock (Sync)
            {
                return Types.Values.Sum(t => ReferenceEquals(t.Held, Services.Cache.Snapshot(t.TypeUrl).Resources) ? 0 : t.Held.Count);
            }
        }
    }

    /// <summary>What the server believes the node holds, which after an ACK is what the node has acknowledged.</summary>
    protected override string AckedVersion(State state) => state.HeldVersion(Services.Cache.Snapshot(state.TypeUrl));

    protected override string CurrentVersion(State state)
    {
        var snapshot = Services.Cache.Snapshot(state.TypeUrl);
        if (state.Wildcard)
        {
            return snapshot.Version;
        }
        ulong digest = 0;
        foreach (var name in state.Names)
        {
            if (snapshot.Find(name) is { } resource)
            {
                digest ^= resource.Digest;
            }
        }
        return ResourceSetVersion.Format(digest);
    }

    /// <summary>
    /// A delta ACK covers only the resources of its response, so a NACK stays in the view past later
    /// ACKs, for as long as it applies: while the cache still holds a version it rejected (or, for a
    /// rejected removal, the resource is still gone). Once the cache moves on (a fix, or back to what
    /// the node holds), it no longer does. Of the NACKs that apply, the latest is shown: each rejected
    /// name keeps the NACK that rejected it, so a later NACK of another name, since fixed, does not
    /// stand in for it.
    /// </summary>
    protected override (string Version, Google.Rpc.Status? Error, DateTimeOffset? At) Rejection(State state)
    {
        Nack? latest = null;
        if (state.Rejected.Count > 0)
        {
            var snapshot = Services.Cache.Snapshot(state.TypeUrl);
            foreach (var (name, (version, nack)) in state.Rejected)
            {
                if (latest is not null && nack.Sequence <= latest.Sequence)
                {
                    continue;
                }
                var current = snapshot.Find(name);
                if (version.Length == 0 ? current is null : current?.Version == version)
                {
                    latest = nack;
                }
            }
        }
        return latest is null ? ("", null, null) : (latest.Version, latest.Error, latest.At);
    }

    /// <summary>
    /// One NACK of a type: the system_version_info of the response it rejected, the node's error as
    /// kept (<see cref="DiscoveryStream{TRequest, TResponse, TState}.Kept"/>), and when. Shared by every
    /// name it rejected; <paramref name="Sequence"/> orders the NACKs of a type.
    /// </summary>
    internal sealed record Nack(long Sequence, string Version, Google.Rpc.Status Error, DateTimeOffset At);

    internal sealed class State(string typeUrl) : TypeState(typeUrl)
    {
        /// <summary>NACKs of this type so far on the stream (numbers them, <see cref="Nack.Sequence"/>).</summary>
        public long Nacks { get; set; }

        /// <summary>
        /// What the node holds, as far as the server knows. Immutable, so a wildcard node in sync with
        /// the cache shares the cache's own snapshot instead of a copy: an idle stream costs no memory
        /// per resource (see <see cref="Apply"/>).
        /// </summary>
        public ImmutableSortedDictionary<string, VersionedResource> Held { get; private set; } = ImmutableSortedDictionary.Create<string, VersionedResource>(StringComparer.Ordinal);

        /// <summary>The set version of <see cref="Held"/>, kept up to date one resource at a time.</summary>
        public ulong HeldDigest { get; private set; }

        /// <summary>
        /// Versions the node rejected, by name ("" for a rejected removal), with the NACK that rejected
        /// them: not sent again until they change, while the node keeps what it fell back to. Dropped
        /// once anything else is sent for the name (a resource or a removal) and when the node
        /// unsubscribes from it.
        /// </summary>
        public Dictionary<string, (string Version, Nack By)> Rejected { get; } = new(StringComparer.Ordinal);

        /// <summary>Names that changed since the last response.</summary>
        public HashSet<string> Dirty { get; } = new(StringComparer.Ordinal);

        /// <summary>Names that must be answered even if unchanged (subscribed again, or unsubscribed under a wildcard).</summary>
        public HashSet<string> Forced { get; } = new(StringComparer.Ordinal);

        /// <summary>Compare every subscribed and held name (first request, new wildcard, very large change batches).</summary>
        public bool Rescan { get; set; }

        /// <summary>What the outstanding response changed: name, version held before, version sent (null for a removal).</summary>
        public List<(string Name, VersionedResource? Previous, string? Sent)> Outstanding { get; } = [];

        public override bool HasWork => Respond || Rescan || Dirty.Count > 0 || Forced.Count > 0;

        public override int QueueDepth => Dirty.Count + Forced.Count + (Rescan || (Respond && Dirty.Count + Forced.Count == 0) ? 1 : 0);

        public override int ResourceCount => Held.Count;

        public bool InScope(string name) => Wildcard || Names.Contains(name);

        private ulong _formattedDigest;
        private string? _formatted;

        /// <summary>
        /// The version of <see cref="Held"/>: the snapshot's own string when the node holds the whole
        /// type, else formatted once per digest, so sent and acknowledged versions share one string.
        /// </summary>
        public string HeldVersion(ResourceTypeSnapshot snapshot)
        {
            if (HeldDigest == snapshot.Digest)
            {
                return snapshot.Version;
            }
            if (_formatted is null || _formattedDigest != HeldDigest)
            {
                _formatted = ResourceSetVersion.Format(HeldDigest);
                _formattedDigest = HeldDigest;
            }
            return _formatted;
        }

        public void Hold(VersionedResource resource)
        {
            if (Held.TryGetValue(resource.Name, out var held))
            {
                HeldDigest ^= held.Digest;
            }
            Held = Held.SetItem(resource.Name, resource);
            HeldDigest ^= resource.Digest;
        }

        /// <summary>
        /// What a response gives the node (a resource to hold, or null for a removal; one edit per
        /// name). A wildcard node that ends up holding exactly the snapshot (same set version and count)
        /// refers to the snapshot's immutable map itself, without copying the tree once per edit (the
        /// usual push, once per stream); the next change copies only the path it touches.
        /// </summary>
        public void Apply(List<(string Name, VersionedResource? Resource)> edits, ResourceTypeSnapshot snapshot)
        {
            var digest = HeldDigest;
            var count = Held.Count;
            foreach (var (name, resource) in edits)
            {
                var held = Held.GetValueOrDefault(name);
                digest ^= (held?.Digest ?? 0) ^ (resource?.Digest ?? 0);
                count += (resource is null ? 0 : 1) - (held is null ? 0 : 1);
            }
            if (Wildcard && digest == snapshot.Digest && count == snapshot.Count)
            {
                Held = snapshot.Resources;
                HeldDigest = digest;
                return;
            }
            foreach (var (name, resource) in edits)
            {
                if (resource is null)
                {
                    Release(name);
                }
                else
                {
                    Hold(resource);
                }
            }
        }

        public void Release(string name)
        {
            if (Held.TryGetValue(name, out var held))
            {
                Held = Held.Remove(name);
                HeldDigest ^= held.Digest;
            }
        }

        /// <summary>The node no longer wants <paramref name="name"/>: forget everything about it.</summary>
        public void Forget(string name)
        {
            Release(name);
            Rejected.Remove(name);
            Dirty.Remove(name);
            Forced.Remove(name);
        }

        public void ForgetOutOfScope()
        {
            foreach (var name in Held.Keys.Where(n => !InScope(n)).ToList())
            {
                Forget(name);
            }
            foreach (var name in Rejected.Keys.Where(n => !InScope(n)).ToList())
            {
                Rejected.Remove(name);
            }
            Dirty.RemoveWhere(n => !InScope(n));
            Forced.RemoveWhere(n => !InScope(n));
        }
    }
}
