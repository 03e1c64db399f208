using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>Reads the current content of resources from the stores (the registry and the policy source).</summary>
internal sealed class ResourceLoader(IRegistryStore registry, IRoutingPolicySource policies)
{
    private readonly EndpointSetEncoder _endpoints = new();

    /// <summary>Above this many images in one batch, one full listing is cheaper than one query per image.</summary>
    private const int ListAllThreshold = 16;

    /// <summary>Every resource of <paramref name="typeUrl"/>.</summary>
    public async Task<List<VersionedResource>> LoadAllAsync(string typeUrl, CancellationToken cancellationToken)
    {
        List<VersionedResource> loaded = [];
        if (typeUrl == ResourceTypes.EndpointSet)
        {
            var records = await registry.ListAsync(new InstanceQuery(), cancellationToken);
            foreach (var group in records.GroupBy(r => r.Spec.Image, StringComparer.Ordinal))
            {
                if (Endpoints(group.Key, group) is { } set)
                {
                    loaded.Add(set);
                }
            }
        }
        else if (typeUrl == ResourceTypes.RoutingPolicy)
        {
            foreach (var policy in await policies.ListAsync(cancellationToken))
            {
                if (policy.Image.Length > 0)
                {
                    loaded.Add(VersionedResource.Create(typeUrl, policy.Image, policy));
                }
            }
        }
        return loaded;
    }

    /// <summary>The current content of each of <paramref name="names"/>: null for a resource that does not exist.</summary>
    public async Task<Dictionary<string, VersionedResource?>> LoadAsync(string typeUrl, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var loaded = new Dictionary<string, VersionedResource?>(names.Count, StringComparer.Ordinal);
        if (typeUrl == ResourceTypes.EndpointSet)
        {
            if (names.Count > ListAllThreshold)
            {
                var byImage = (await registry.ListAsync(new InstanceQuery(), cancellationToken)).ToLookup(r => r.Spec.Image, StringComparer.Ordinal);
                foreach (var image in names)
                {
                    loaded[image] = Endpoints(image, byImage[image]);
                }
            }
            else
            {
                foreach (var image in names)
                {
                    loaded[image] = Endpoints(image, await registry.ListAsync(new InstanceQuery(Image: image), cancellationToken));
                }
            }
        }
        else if (typeUrl == ResourceTypes.RoutingPolicy)
        {
            foreach (var image in names)
            {
                var policy = await policies.GetAsync(image, cancellationToken);
                loaded[image] = policy is null ? null : VersionedResource.Create(typeUrl, image, policy);
            }
        }
        return loaded;
    }

    private VersionedResource? Endpoints(string image, IEnumerable<InstanceRecord> records) =>
        _endpoints.Encode(image, records) is { } set ? VersionedResource.Create(ResourceTypes.EndpointSet, image, set) : null;
}
