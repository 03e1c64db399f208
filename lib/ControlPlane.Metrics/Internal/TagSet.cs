namespace ControlPlane.Metrics.Internal;

/// <summary>
/// A recorded tag list, as the key of its series. Equality is order-sensitive and exact (ordinal
/// keys, <see cref="object.Equals(object?, object?)"/> values); tag lists that differ only in order
/// or in how a value is boxed still share a series, because the table also indexes series by their
/// rendered labels.
/// </summary>
internal sealed class TagSet
{
    private TagSet(KeyValuePair<string, object?>[] tags, int hash)
    {
        Tags = tags;
        Hash = hash;
    }

    public KeyValuePair<string, object?>[] Tags { get; }

    public int Hash { get; }

    public static TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> tags) => new(tags.ToArray(), HashOf(tags));

    public static int HashOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = new HashCode();
        foreach (var tag in tags)
        {
            hash.Add(tag.Key);
            hash.Add(tag.Value);
        }
        return hash.ToHashCode();
    }

    public static bool Equal(ReadOnlySpan<KeyValuePair<string, object?>> a, ReadOnlySpan<KeyValuePair<string, object?>> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i].Key, b[i].Key, StringComparison.Ordinal) || !Equals(a[i].Value, b[i].Value))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// Lets the series table be searched with the measurement's tag span itself, so finding the series
/// of an already-seen tag list allocates nothing (the hot path of every recording).
/// </summary>
internal sealed class TagSetComparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
{
    public static readonly TagSetComparer Instance = new();

    public bool Equals(TagSet? x, TagSet? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.Hash == y.Hash && TagSet.Equal(x.Tags, y.Tags));

    public int GetHashCode(TagSet obj) => obj.Hash;

    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other) => TagSet.Equal(alternate, other.Tags);

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => TagSet.HashOf(alternate);

    public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => TagSet.Create(alternate);
}
