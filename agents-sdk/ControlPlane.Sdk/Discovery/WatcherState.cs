using System.Collections.Frozen;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// The watcher's resources: each response is decoded and checked as a whole, applied to a copy, and
/// the copy published as the new <see cref="DiscoverySnapshot"/> only when everything passed;
/// otherwise the NACK's error and nothing changes.
/// </summary>
internal sealed class WatcherState(DiscoveryWatcherOptions options, Action<DiscoverySnapshot> published) : IDeltaResourceHandler
{
    /// <summary>Most characters of an error_detail message (the rest is cut, with a count of the problems).</summary>
    public const int MaxErrorLength = 4096;

    private readonly Lock _lock = new();
    private DiscoverySnapshot _current = DiscoverySnapshot.Empty;

    public DiscoverySnapshot Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    public IReadOnlyList<DeltaSubscription> Subscriptions { get; } = BuildSubscriptions(options);

    public IReadOnlyDictionary<string, string> Versions(string typeUrl)
    {
        var snapshot = Current;
        return typeUrl == ResourceTypeUrls.EndpointSet
            ? snapshot.EndpointSetResources.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal)
            : snapshot.RoutingPolicyResources.ToDictionary(kv => kv.Key, kv => kv.Value.Version, StringComparer.Ordinal);
    }

    public Google.Rpc.Status? Apply(DeltaResourcesResponse response)
    {
        var errors = new List<string>();
        DiscoverySnapshot next, previous;
        lock (_lock)
        {
            var endpoints = _current.EndpointSetMap;
            var policies = _current.RoutingPolicyMap;
            if (response.TypeUrl == ResourceTypeUrls.EndpointSet)
            {
                endpoints = Merge(endpoints, ResourceDecoder.Decode(response.Resources, EndpointSet.Parser, response.TypeUrl, errors), response.RemovedResources);
            }
            else if (response.TypeUrl == ResourceTypeUrls.RoutingPolicy && options.WatchRoutingPolicies)
            {
                policies = Merge(policies, ResourceDecoder.Decode(response.Resources, RoutingPolicy.Parser, response.TypeUrl, errors), response.RemovedResources);
            }
            else
            {
                errors.Add($"type_url: '{response.TypeUrl}' is not a type this watcher subscribes to");
            }
            if (errors.Count > 0)
            {
                return Invalid(errors);
            }
            next = new DiscoverySnapshot(_current.Generation + 1, endpoints, policies);
            if (options.Validate?.Invoke(next) is { Count: > 0 } problems)
            {
                return Invalid(problems);
            }
            previous = _current;
            _current = next;
        }
        // Outside the lock: change callbacks may read Current.
        previous.SignalChanged();
        published(next);
        return null;
    }

    private static FrozenDictionary<string, VersionedResource<T>> Merge<T>(
        FrozenDictionary<string, VersionedResource<T>> held, List<(Resource Resource, T Message)> changed, IEnumerable<string> removed)
    {
        var copy = new Dictionary<string, VersionedResource<T>>(held, StringComparer.Ordinal);
        foreach (var name in removed)
        {
            copy.Remove(name);
        }
        foreach (var (resource, message) in changed)
        {
            copy[resource.Name] = new VersionedResource<T>(resource.Version, message);
        }
        return copy.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static List<DeltaSubscription> BuildSubscriptions(DiscoveryWatcherOptions options)
    {
        IReadOnlyList<string> names = options.Images.Count == 0 ? [ResourceTypeUrls.Wildcard] : [.. options.Images];
        List<DeltaSubscription> subscriptions = [new(ResourceTypeUrls.EndpointSet, names)];
        if (options.WatchRoutingPolicies)
        {
            subscriptions.Add(new(ResourceTypeUrls.RoutingPolicy, names));
        }
        return subscriptions;
    }

    private static Google.Rpc.Status Invalid(IReadOnlyList<string> errors)
    {
        var message = string.Join("; ", errors);
        if (message.Length > MaxErrorLength)
        {
            message = message[..MaxErrorLength] + $"... ({errors.Count} problems in all)";
        }
        return new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
    }
}
