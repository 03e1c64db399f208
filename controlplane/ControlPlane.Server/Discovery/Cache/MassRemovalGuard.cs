using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using Endpoint = ControlPlane.Api.V1.Endpoint;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// Keeps nodes from being sent a sudden mass removal of endpoints by a full reload of the store: one
/// that would take away more than <see cref="DiscoveryOptions.MassRemovalThreshold"/> of the endpoints
/// the cache holds. A full reload follows a reset (the store restarted, started afresh, or its change
/// log no longer reaches back), and a store that came back empty (Redis without persistence, or
/// restored from an old copy) would otherwise have every node drop every endpoint, and serve nothing,
/// until agents register again. The endpoints that reload did not find stay in their sets for
/// <see cref="DiscoveryOptions.MassRemovalHold"/>, while the store's own content (re-registrations
/// included) is applied as usual; an endpoint whose instance is in the store again leaves the hold.
/// An instance that a change signalled during the hold names (<see cref="Named"/>), and that the store has
/// no record of when the change is loaded, was removed there since (<see cref="Release"/>), and leaves
/// the hold too. When the hold ends, a reload sends what the store holds then. Only the cache's worker
/// calls it; <see cref="Held"/> is also read by the metrics gauge, <see cref="ImageOf"/> by the registry,
/// and <see cref="Named"/> is called by whatever signals a change.
/// </summary>
internal sealed class MassRemovalGuard(DiscoveryOptions options)
{
    /// <summary>Per image, by instance id, the endpoints held back. Null: no hold.</summary>
    private Dictionary<string, Dictionary<string, Endpoint>>? _held;

    /// <summary>The image of each endpoint held back, for readers on other threads (and their count).</summary>
    private readonly ConcurrentDictionary<string, string> _imageOf = new(StringComparer.Ordinal);

    /// <summary>Held instances named by a change signalled during the hold (a change retried from before it is not).</summary>
    private readonly ConcurrentDictionary<string, byte> _named = new(StringComparer.Ordinal);

    public bool Active => Volatile.Read(ref _held) is not null;

    /// <summary>Endpoints held back now.</summary>
    public int Held => _imageOf.Count;

    /// <summary>
    /// Before a full reload is published: starts a hold when <paramref name="loaded"/> (the reload's
    /// endpoint sets by image, null for an image the store no longer has) would remove more than the
    /// threshold of the endpoints <paramref name="current"/> holds. Returns the endpoints held (0: no
    /// hold started) and how many were held before.
    /// </summary>
    public (int Held, int Of) TryHold(ResourceTypeSnapshot current, IReadOnlyDictionary<string, VersionedResource?> loaded)
    {
        if (_held is not null || options.MassRemovalHold <= TimeSpan.Zero)
        {
            return (0, 0);
        }
        var total = 0;
        var removed = new Dictionary<string, Dictionary<string, Endpoint>>(StringComparer.Ordinal);
        foreach (var (image, resource) in current.Resources)
        {
            var before = Decode(resource);
            total += before.Endpoints.Count;
            var after = loaded.TryGetValue(image, out var now) && now is not null ? Ids(Decode(now)) : null;
            foreach (var endpoint in before.Endpoints)
            {
                if (after is null || !after.Contains(endpoint.InstanceId))
                {
                    if (!removed.TryGetValue(image, out var gone))
                    {
                        gone = new Dictionary<string, Endpoint>(StringComparer.Ordinal);
                        removed.Add(image, gone);
                    }
                    gone[endpoint.InstanceId] = endpoint;
                }
            }
        }
        var count = removed.Sum(r => r.Value.Count);
        if (total < options.MassRemovalMinEndpoints || count <= options.MassRemovalThreshold * total)
        {
            return (0, total);
        }
        foreach (var (image, gone) in removed)
        {
            foreach (var id in gone.Keys)
            {
                _imageOf[id] = image;
            }
        }
        Volatile.Write(ref _held, removed);
        return (count, total);
    }

    /// <summary>
    /// While a hold lasts: the endpoint set of <paramref name="image"/> as the store has it
    /// (<paramref name="resource"/>; null: none) with the endpoints still held back added, ordered by
    /// instance id as every set is. Endpoints the store has again leave the hold.
    /// </summary>
    public VersionedResource? Merge(string image, VersionedResource? resource)
    {
        if (_held is null || !_held.TryGetValue(image, out var held))
        {
            return resource;
        }
        var set = resource is null ? new EndpointSet { Image = image } : Decode(resource);
        foreach (var endpoint in set.Endpoints)
        {
            Forget(image, held, endpoint.InstanceId);
        }
        if (held.Count == 0)
        {
            return resource;
        }
        var endpoints = set.Endpoints.Concat(held.Values).ToList();
        endpoints.Sort((a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        var merged = new EndpointSet { Image = image };
        merged.Endpoints.Add(endpoints);
        return VersionedResource.Create(ResourceTypes.EndpointSet, image, merged);
    }

    /// <summary>
    /// The image whose set still carries instance <paramref name="instanceId"/> from the hold; null when it is
    /// not held back. Safe from any thread.
    /// </summary>
    public string? ImageOf(string instanceId) => _imageOf.GetValueOrDefault(instanceId);

    /// <summary>A change to <paramref name="instanceIds"/> was signalled (any thread): those held back are noted for <see cref="Release"/>.</summary>
    public void Named(IReadOnlyList<string> instanceIds)
    {
        foreach (var id in instanceIds)
        {
            if (_imageOf.ContainsKey(id))
            {
                _named[id] = 0;
            }
        }
    }

    /// <summary>
    /// Instances that a load found no record of, with their image. Those a change signalled during the hold
    /// named were removed from the store after it began (deregistered, or announced gone), so they leave it:
    /// the next <see cref="Merge"/> of their image leaves them out.
    /// </summary>
    public void Release(IEnumerable<(string Image, string InstanceId)> gone)
    {
        foreach (var (image, id) in gone)
        {
            if (_held is not null && _held.TryGetValue(image, out var held) && _named.TryRemove(id, out _))
            {
                Forget(image, held, id);
            }
        }
    }

    /// <summary>Ends the hold; returns how many endpoints were still held back (the next reload removes them).</summary>
    public int End()
    {
        _held = null;
        var held = _imageOf.Count;
        _imageOf.Clear();
        _named.Clear();
        return held;
    }

    /// <summary>Takes <paramref name="instanceId"/> out of <paramref name="image"/>'s held endpoints (and the image out of the hold once it has none).</summary>
    private void Forget(string image, Dictionary<string, Endpoint> held, string instanceId)
    {
        if (held.Remove(instanceId))
        {
            _imageOf.TryRemove(new KeyValuePair<string, string>(instanceId, image));
        }
        if (held.Count == 0)
        {
            _held?.Remove(image);
        }
    }

    private static EndpointSet Decode(VersionedResource resource) => EndpointSet.Parser.ParseFrom(resource.Wire.Resource_.Value);

    private static HashSet<string> Ids(EndpointSet set) => set.Endpoints.Select(e => e.InstanceId).ToHashSet(StringComparer.Ordinal);
}
