using System.Collections.Immutable;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// Every resource of one type at one cache revision, ordered by name. Immutable: the cache swaps a
/// new snapshot in atomically, so streams read without locks and never see half an update.
/// </summary>
public sealed class ResourceTypeSnapshot
{
    internal ResourceTypeSnapshot(string typeUrl, long revision, ImmutableSortedDictionary<string, VersionedResource> resources, ulong digest)
    {
        TypeUrl = typeUrl;
        Revision = revision;
        Resources = resources;
        Digest = digest;
    }

    internal static ResourceTypeSnapshot Empty(string typeUrl) =>
        new(typeUrl, 0, ImmutableSortedDictionary.Create<string, VersionedResource>(StringComparer.Ordinal), 0);

    public string TypeUrl { get; }

    /// <summary>The cache revision that last changed this type.</summary>
    public long Revision { get; }

    /// <summary>The resources by name, in ordinal name order.</summary>
    public ImmutableSortedDictionary<string, VersionedResource> Resources { get; }

    /// <summary>The version of the whole type (<see cref="ResourceSetVersion"/>); one string, shared by every stream in sync with it.</summary>
    public string Version => _version ??= ResourceSetVersion.Format(Digest);

    private string? _version;

    internal ulong Digest { get; }

    public int Count => Resources.Count;

    public VersionedResource? Find(string name) => Resources.GetValueOrDefault(name);
}
