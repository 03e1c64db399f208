using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// Reads the current content of resources from the stores (the registry and the policy source). An
/// endpoint set whose change signals named the instances that changed (<see cref="NoteEndpoints"/>) is
/// brought up to date by reading only those instances and patching the set held since the last full
/// read; one signalled without names is read whole. So a registration storm on a large image costs a
/// read per changed instance, not per instance of the image: on Redis, where every replica follows
/// every change, that is the difference between reading the fleet on every debounce window and
/// reading what changed. Loads run one at a time (the cache's worker); signals arrive from any thread.
/// </summary>
internal sealed class ResourceLoader(IRegistryStore registry, IRoutingPolicySource policies)
{
    private readonly EndpointSetEncoder _endpoints = new();
    private readonly object _lock = new();

    /// <summary>Per signalled image, the instances to read; null: the whole image. Under <see cref="_lock"/>.</summary>
    private readonly Dictionary<string, HashSet<string>?> _touched = new(StringComparer.Ordinal);

    /// <summary>Above this many images in one batch, one full listing is cheaper than one query per image.</summary>
    private const int ListAllThreshold = 16;

    /// <summary>Above this many changed instances of one image, reading the image whole is as cheap.</summary>
    internal const int MaxPatchedInstances = 256;

    /// <summary>
    /// Notes that the endpoint set of <paramref name="image"/> may have changed in <paramref name="instanceIds"/>
    /// (null: in any instance). Called before the change is queued, so the load that takes the change reads them.
    /// </summary>
    public void NoteEndpoints(string image, IReadOnlyList<string>? instanceIds)
    {
        lock (_lock)
        {
            Note(_touched, image, instanceIds);
        }
    }

    /// <summary>Every resource of <paramref name="typeUrl"/>.</summary>
    public async Task<List<VersionedResource>> LoadAllAsync(string typeUrl, CancellationToken cancellationToken)
    {
        List<VersionedResource> loaded = [];
        if (typeUrl == ResourceTypes.EndpointSet)
        {
            var records = await registry.ListAsync(new InstanceQuery(), cancellationToken);
            var images = new HashSet<string>(StringComparer.Ordinal);
            foreach (var group in records.GroupBy(r => r.Spec.Image, StringComparer.Ordinal))
            {
                images.Add(group.Key);
                if (Endpoints(group.Key, group) is { } set)
                {
                    loaded.Add(set);
                }
            }
            // An image the listing no longer has holds no endpoints: patches start from empty.
            _endpoints.RetainOnly(images);
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

    /// <summary>
    /// The current content of each of <paramref name="names"/>: null for a resource that does not exist.
    /// An endpoint set whose instances were all read by an earlier load (its signals raced that load) is
    /// left out: it has nothing new. <paramref name="gone"/>, when given, receives the instances a signal
    /// named that the store has no record of, with their image.
    /// </summary>
    public async Task<Dictionary<string, VersionedResource?>> LoadAsync(string typeUrl, IReadOnlyCollection<string> names, CancellationToken cancellationToken, List<(string Image, string InstanceId)>? gone = null)
    {
        var loaded = new Dictionary<string, VersionedResource?>(names.Count, StringComparer.Ordinal);
        if (typeUrl == ResourceTypes.EndpointSet)
        {
            var touched = Take(names);
            try
            {
                await LoadEndpointsAsync(touched, loaded, gone, cancellationToken);
            }
            catch
            {
                // Read again on the retry, with whatever was signalled meanwhile.
                Restore(touched);
                throw;
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

    private async Task LoadEndpointsAsync(Dictionary<string, HashSet<string>?> touched, Dictionary<string, VersionedResource?> loaded, List<(string Image, string InstanceId)>? gone, CancellationToken cancellationToken)
    {
        var whole = touched.Where(t => t.Value is null).Select(t => t.Key).ToList();
        if (whole.Count > ListAllThreshold)
        {
            var byImage = (await registry.ListAsync(new InstanceQuery(), cancellationToken)).ToLookup(r => r.Spec.Image, StringComparer.Ordinal);
            foreach (var image in whole)
            {
                loaded[image] = Endpoints(image, byImage[image]);
            }
        }
        else
        {
            foreach (var image in whole)
            {
                loaded[image] = Endpoints(image, await registry.ListAsync(new InstanceQuery(Image: image), cancellationToken));
            }
        }

        var ids = new List<string>();
        foreach (var (_, instances) in touched)
        {
            if (instances is not null)
            {
                ids.AddRange(instances);
            }
        }
        if (ids.Count == 0)
        {
            return;
        }
        var records = await registry.GetManyAsync(ids, cancellationToken);
        var at = 0;
        foreach (var (image, instances) in touched)
        {
            if (instances is null)
            {
                continue;
            }
            var count = instances.Count;
            for (var i = at; gone is not null && i < at + count; i++)
            {
                if (records[i] is null)
                {
                    gone.Add((image, ids[i]));
                }
            }
            var set = _endpoints.Patch(image, ids.GetRange(at, count), Slice(records, at, count));
            loaded[image] = set is null ? null : VersionedResource.Create(ResourceTypes.EndpointSet, image, set);
            at += count;
        }
    }

    private static InstanceRecord?[] Slice(IReadOnlyList<InstanceRecord?> records, int start, int count)
    {
        var slice = new InstanceRecord?[count];
        for (var i = 0; i < count; i++)
        {
            slice[i] = records[start + i];
        }
        return slice;
    }

    /// <summary>Takes what was noted for <paramref name="names"/>; a name noted for none (taken by an earlier load) is left out.</summary>
    private Dictionary<string, HashSet<string>?> Take(IReadOnlyCollection<string> names)
    {
        var taken = new Dictionary<string, HashSet<string>?>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var name in names)
            {
                if (_touched.Remove(name, out var instances))
                {
                    taken[name] = instances;
                }
            }
        }
        return taken;
    }

    /// <summary>Puts back what a failed load took, merged with what was noted since.</summary>
    private void Restore(Dictionary<string, HashSet<string>?> taken)
    {
        lock (_lock)
        {
            foreach (var (image, instances) in taken)
            {
                Note(_touched, image, instances);
            }
        }
    }

    private static void Note(Dictionary<string, HashSet<string>?> touched, string image, IReadOnlyCollection<string>? instanceIds)
    {
        if (instanceIds is null || instanceIds.Count == 0)
        {
            touched[image] = null;
            return;
        }
        if (!touched.TryGetValue(image, out var instances))
        {
            instances = new HashSet<string>(StringComparer.Ordinal);
            touched[image] = instances;
        }
        if (instances is null)
        {
            return; // the whole image is read already
        }
        foreach (var id in instanceIds)
        {
            instances.Add(id);
        }
        if (instances.Count > MaxPatchedInstances)
        {
            touched[image] = null;
        }
    }

    private VersionedResource? Endpoints(string image, IEnumerable<InstanceRecord> records) =>
        _endpoints.Encode(image, records) is { } set ? VersionedResource.Create(ResourceTypes.EndpointSet, image, set) : null;
}
