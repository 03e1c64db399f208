using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Grpc;
using ControlPlane.LoadBalancing;
using Google.Protobuf;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// The full resource set the node holds, per type, and the one place it changes: a response (or the
/// last-known-good file) is decoded and validated as a whole, then applied to a copy, published with
/// <see cref="InMemoryProxyConfigProvider.Update(IEnumerable{ImageConfig})"/> and only then committed.
/// Anything that fails leaves both the held set and the published config untouched and yields the
/// NACK's <c>error_detail</c>.
/// <para>
/// At start it can hold what it accepts instead of publishing it (<see cref="HoldInitialFetch"/>):
/// Envoy's initial fetch, so a node never serves a moment of an image's endpoints without the
/// image's policy (round_robin instead of weighted_rr) because the EndpointSet answer came first.
/// </para>
/// </summary>
internal sealed class DiscoveryState(InMemoryProxyConfigProvider provider, LoadBalancingPolicies balancers)
{
    public static readonly string EndpointSetType = "type.googleapis.com/" + EndpointSet.Descriptor.FullName;
    public static readonly string RoutingPolicyType = "type.googleapis.com/" + RoutingPolicy.Descriptor.FullName;

    /// <summary>The types the node subscribes to, in the order it subscribes.</summary>
    public static readonly IReadOnlyList<string> Types = [EndpointSetType, RoutingPolicyType];

    /// <summary>Most characters of an error_detail message (the rest is cut, with a count of what was left out).</summary>
    public const int MaxErrorLength = 4096;

    private readonly Lock _lock = new();
    private Dictionary<string, Held> _endpoints = new(StringComparer.Ordinal);
    private Dictionary<string, Held> _policies = new(StringComparer.Ordinal);
    private bool _live;
    private bool _published;
    private readonly HashSet<string> _awaited = new(StringComparer.Ordinal);

    /// <summary>True once a control-plane response has been applied (not only a last-known-good file).</summary>
    public bool HasLiveConfig
    {
        get
        {
            lock (_lock)
            {
                return _live;
            }
        }
    }

    /// <summary>True while the initial fetch holds accepted responses back (nothing published yet).</summary>
    public bool Holding
    {
        get
        {
            lock (_lock)
            {
                return _awaited.Count > 0;
            }
        }
    }

    /// <summary>True while what is published came from the last-known-good file, not from a control plane.</summary>
    public bool ServingLastKnownGood
    {
        get
        {
            lock (_lock)
            {
                return _published && !_live;
            }
        }
    }

    /// <summary>
    /// Until each of <paramref name="typeUrls"/> has answered once (accepted or rejected, as Envoy's
    /// init targets are released by either), accepted responses are held, not published. Only
    /// before anything was published; <see cref="EndInitialFetch"/> goes ahead early.
    /// </summary>
    public void HoldInitialFetch(IEnumerable<string> typeUrls)
    {
        lock (_lock)
        {
            if (!_published)
            {
                _awaited.UnionWith(typeUrls);
            }
        }
    }

    /// <summary>
    /// Stops holding (the initial fetch timed out) and publishes what is held. Returns the types that
    /// never answered (empty when the fetch had already ended), and whether anything was published.
    /// </summary>
    public (IReadOnlyList<string> Missing, bool Published) EndInitialFetch()
    {
        lock (_lock)
        {
            if (_awaited.Count == 0)
            {
                return ([], false);
            }
            var missing = _awaited.Order(StringComparer.Ordinal).ToArray();
            _awaited.Clear();
            // What is held was validated as a whole when it was accepted.
            return (missing, _live && Publish(_endpoints, _policies) is null);
        }
    }

    /// <summary>Name → version of what is held of <paramref name="typeUrl"/> (for initial_resource_versions).</summary>
    public Dictionary<string, string> Versions(string typeUrl)
    {
        lock (_lock)
        {
            return Map(typeUrl).ToDictionary(kv => kv.Key, kv => kv.Value.Resource.Version, StringComparer.Ordinal);
        }
    }

    /// <summary>Every held resource, endpoint sets first, each type ordered by name.</summary>
    public IReadOnlyList<Resource> Resources()
    {
        lock (_lock)
        {
            return [.. _endpoints.Values.Concat(_policies.Values).Select(h => h.Resource).OrderBy(r => r.Resource_.TypeUrl, StringComparer.Ordinal).ThenBy(r => r.Name, StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// What is published (so worth keeping as last-known-good): every held resource, or null while
    /// the initial fetch holds a partial set that a restarted node must not serve either.
    /// </summary>
    public IReadOnlyList<Resource>? PublishedResources()
    {
        lock (_lock)
        {
            return _published && _awaited.Count == 0 ? Resources() : null;
        }
    }

    /// <summary>Resources held of <paramref name="typeUrl"/>.</summary>
    public int Count(string typeUrl)
    {
        lock (_lock)
        {
            return Map(typeUrl).Count;
        }
    }

    /// <summary>
    /// Applies one delta response: <paramref name="removed"/> names go, <paramref name="resources"/>
    /// are added or replace what is held. Returns null when applied (ACK), else the NACK's error.
    /// </summary>
    public Google.Rpc.Status? Apply(string typeUrl, IReadOnlyList<Resource> resources, IReadOnlyCollection<string> removed) =>
        Apply(typeUrl, resources, removed, out _);

    /// <summary>
    /// Applies one delta response, as above; <paramref name="published"/> says whether a new configuration was published: false for a
    /// response held by the initial fetch, and for one that changes nothing published (every resource
    /// exactly as held, every removal of a name not held), which is ACKed without a new revision.
    /// </summary>
    public Google.Rpc.Status? Apply(string typeUrl, IReadOnlyList<Resource> resources, IReadOnlyCollection<string> removed, out bool published)
    {
        published = false;
        if (typeUrl != EndpointSetType && typeUrl != RoutingPolicyType)
        {
            return Invalid([$"type_url: '{typeUrl}' is not a type this node subscribes to"]);
        }
        var errors = new List<string>();
        var decoded = Decode(typeUrl, resources, errors);
        lock (_lock)
        {
            if (errors.Count > 0)
            {
                Answered(typeUrl);
                return Invalid(errors);
            }
            if (_published && _awaited.Count == 0 && !Changes(Map(typeUrl), decoded, removed))
            {
                // What is published already (a control plane resending it on every new stream, or a
                // flapping one): no new revision, no change signal, nothing to persist.
                _live = true;
                return null;
            }
            var endpoints = new Dictionary<string, Held>(_endpoints, StringComparer.Ordinal);
            var policies = new Dictionary<string, Held>(_policies, StringComparer.Ordinal);
            var target = typeUrl == EndpointSetType ? endpoints : policies;
            foreach (var name in removed)
            {
                target.Remove(name);
            }
            foreach (var held in decoded)
            {
                target[held.Resource.Name] = held;
            }
            if (_awaited.Count > 0 && !(_awaited.Count == 1 && _awaited.Contains(typeUrl)))
            {
                // Held, not published: other types have yet to answer. Validated as a whole now, so
                // the ACK means what it always means: this configuration will be used.
                var problems = Images(endpoints, policies).SelectMany(i => ImageConfigValidator.Validate(i, balancers).Select(p => $"image '{i.Image}': {p}")).ToList();
                if (problems.Count > 0)
                {
                    Answered(typeUrl);
                    return Invalid(problems);
                }
                _endpoints = endpoints;
                _policies = policies;
                _live = true;
                _awaited.Remove(typeUrl);
                return null;
            }
            // The last awaited type (or no initial fetch): everything held is published with it. Once
            // something is published, a response changes only the images it names.
            var whole = !_published || _awaited.Count > 0;
            _awaited.Clear();
            var touched = whole ? null : removed.Concat(decoded.Select(h => h.Resource.Name));
            if (Publish(endpoints, policies, touched) is { } error)
            {
                if (_live && !_published)
                {
                    Publish(_endpoints, _policies); // what was held before this response, validated then
                }
                return error;
            }
            _live = true;
            published = true;
            return null;
        }
    }

    /// <summary>Whether applying <paramref name="decoded"/> and <paramref name="removed"/> to <paramref name="held"/> changes it (resources compared whole: name, version and bytes).</summary>
    private static bool Changes(Dictionary<string, Held> held, List<Held> decoded, IReadOnlyCollection<string> removed)
    {
        foreach (var name in removed)
        {
            if (held.ContainsKey(name))
            {
                return true;
            }
        }
        foreach (var update in decoded)
        {
            if (!held.TryGetValue(update.Resource.Name, out var current) || !current.Resource.Equals(update.Resource))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Under the lock: <paramref name="typeUrl"/> answered, but with nothing to use; the last awaited answer ends the hold.</summary>
    private void Answered(string typeUrl)
    {
        if (_awaited.Remove(typeUrl) && _awaited.Count == 0 && _live)
        {
            Publish(_endpoints, _policies);
        }
    }

    /// <summary>
    /// Replaces everything with a persisted set, unless a live response was applied meanwhile.
    /// Returns the problems (nothing applied), or an empty list when loaded; null when skipped.
    /// </summary>
    public IReadOnlyList<string>? LoadLastKnownGood(IReadOnlyList<Resource> resources)
    {
        var errors = new List<string>();
        var endpoints = Decode(EndpointSetType, [.. resources.Where(r => r.Resource_?.TypeUrl == EndpointSetType)], errors);
        var policies = Decode(RoutingPolicyType, [.. resources.Where(r => r.Resource_?.TypeUrl == RoutingPolicyType)], errors);
        foreach (var other in resources.Where(r => r.Resource_?.TypeUrl != EndpointSetType && r.Resource_?.TypeUrl != RoutingPolicyType))
        {
            errors.Add($"'{other.Name}': type '{other.Resource_?.TypeUrl}' is not one this node uses");
        }
        if (errors.Count > 0)
        {
            return errors;
        }
        lock (_lock)
        {
            if (_live)
            {
                return null;
            }
            var error = Publish(endpoints.ToDictionary(h => h.Resource.Name, StringComparer.Ordinal), policies.ToDictionary(h => h.Resource.Name, StringComparer.Ordinal));
            if (error is not null)
            {
                return [error.Message];
            }
            // Served from the file: later answers apply at once, on top of it (its policies stay
            // until the control plane's own RoutingPolicy answer replaces them).
            _awaited.Clear();
            return [];
        }
    }

    /// <summary>
    /// Publishes <paramref name="endpoints"/> and <paramref name="policies"/>: as a whole, or, given the
    /// names a response <paramref name="touched"/>, only those images (the rest is published already).
    /// </summary>
    private Google.Rpc.Status? Publish(Dictionary<string, Held> endpoints, Dictionary<string, Held> policies, IEnumerable<string>? touched = null)
    {
        try
        {
            if (touched is null)
            {
                provider.Update(Images(endpoints, policies));
            }
            else
            {
                var changed = new List<ImageConfig>();
                var gone = new List<string>();
                foreach (var name in touched.Distinct(StringComparer.Ordinal))
                {
                    if (Image(name, endpoints, policies) is { } image)
                    {
                        changed.Add(image);
                    }
                    else
                    {
                        gone.Add(name);
                    }
                }
                provider.Patch(changed, gone);
            }
        }
        catch (InvalidProxyConfigException ex)
        {
            return Invalid(ex.Errors);
        }
        _endpoints = endpoints;
        _policies = policies;
        _published = true;
        return null;
    }

    private static List<ImageConfig> Images(Dictionary<string, Held> endpoints, Dictionary<string, Held> policies)
    {
        var images = new List<ImageConfig>(endpoints.Count + policies.Count);
        foreach (var name in endpoints.Keys.Union(policies.Keys, StringComparer.Ordinal))
        {
            images.Add(Image(name, endpoints, policies)!);
        }
        return images;
    }

    /// <summary>Image <paramref name="name"/> as its endpoint set and policy make it; null when neither is held.</summary>
    private static ImageConfig? Image(string name, Dictionary<string, Held> endpoints, Dictionary<string, Held> policies)
    {
        var set = endpoints.GetValueOrDefault(name);
        var policy = policies.GetValueOrDefault(name);
        return set is null && policy is null
            ? null
            : new ImageConfig(name, (EndpointSet?)set?.Message, (RoutingPolicy?)policy?.Message)
            {
                EndpointsVersion = set?.Resource.Version,
                PolicyVersion = policy?.Resource.Version,
            };
    }

    private List<Held> Decode(string typeUrl, IReadOnlyList<Resource> resources, List<string> errors)
    {
        var kind = typeUrl == EndpointSetType ? "EndpointSet" : "RoutingPolicy";
        var decoded = new List<Held>(resources.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < resources.Count; i++)
        {
            var resource = resources[i];
            var at = $"{kind} '{resource.Name}' (resources[{i}], version '{resource.Version}')";
            if (string.IsNullOrEmpty(resource.Name))
            {
                errors.Add($"{kind} resources[{i}].name: must not be empty");
                continue;
            }
            if (!names.Add(resource.Name))
            {
                errors.Add($"{at} name: appears twice in the response");
                continue;
            }
            if (resource.Resource_ is not { } any)
            {
                errors.Add($"{at} resource: missing");
                continue;
            }
            if (any.TypeUrl != typeUrl)
            {
                errors.Add($"{at} resource.type_url: '{any.TypeUrl}' is not '{typeUrl}'");
                continue;
            }
            IMessage message;
            ImageConfig config;
            try
            {
                if (typeUrl == EndpointSetType)
                {
                    var set = EndpointSet.Parser.ParseFrom(any.Value);
                    (message, config) = (set, new ImageConfig(resource.Name, set));
                }
                else
                {
                    var policy = RoutingPolicy.Parser.ParseFrom(any.Value);
                    (message, config) = (policy, new ImageConfig(resource.Name, null, policy));
                }
            }
            catch (InvalidProtocolBufferException ex)
            {
                errors.Add($"{at} resource.value: not a valid {kind} ({ex.Message})");
                continue;
            }
            var problems = ImageConfigValidator.Validate(config, balancers);
            if (problems.Count > 0)
            {
                errors.AddRange(problems.Select(p => $"{at} {p}"));
                continue;
            }
            decoded.Add(new Held(resource, message));
        }
        return decoded;
    }

    private Dictionary<string, Held> Map(string typeUrl) => typeUrl == EndpointSetType ? _endpoints : _policies;

    private static Google.Rpc.Status Invalid(IReadOnlyList<string> errors)
    {
        var message = string.Join("; ", errors);
        if (message.Length > MaxErrorLength)
        {
            message = message[..MaxErrorLength] + $"... ({errors.Count} problems in all)";
        }
        return new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
    }

    private sealed record Held(Resource Resource, IMessage Message);
}
