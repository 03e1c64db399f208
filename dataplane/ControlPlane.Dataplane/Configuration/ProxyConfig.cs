using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// One immutable routing snapshot: every known image with its prebuilt balancer. Replaced as a
/// whole by its provider; <see cref="ChangeToken"/> fires once a newer snapshot is current. The
/// images are a plain dictionary, never written after the snapshot is made: the next snapshot copies
/// it and changes what changed, which costs a copy of the table rather than rebuilding (or freezing)
/// every image, so one changed image among 100,000 is a millisecond, not a second.
/// </summary>
public sealed class ProxyConfig
{
    private readonly Dictionary<string, ImageRoute> _images;
    private readonly Dictionary<string, ImageRoute>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    /// <summary>A snapshot of <paramref name="images"/>, which must use ordinal comparison and not be changed afterwards.</summary>
    internal ProxyConfig(long revision, Dictionary<string, ImageRoute> images, IChangeToken changeToken, DateTimeOffset createdAt)
    {
        Revision = revision;
        _images = images;
        _bySpan = images.GetAlternateLookup<ReadOnlySpan<char>>();
        ChangeToken = changeToken;
        CreatedAt = createdAt;
    }

    /// <summary>The snapshot before any configuration arrived: no images, <see cref="IsLoaded"/> false.</summary>
    internal static ProxyConfig NotLoaded(IChangeToken changeToken, DateTimeOffset now) =>
        new(0, new Dictionary<string, ImageRoute>(StringComparer.Ordinal), changeToken, now);

    /// <summary>Increases with every snapshot a provider publishes; 0 before the first.</summary>
    public long Revision { get; }

    /// <summary>False until a provider has published a configuration (the node is not ready: <c>/readyz</c> answers 503).</summary>
    public bool IsLoaded => Revision > 0;

    /// <summary>When the provider built this snapshot.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>The images by name (case-sensitive, as the registry spells them).</summary>
    public IReadOnlyDictionary<string, ImageRoute> Images => _images;

    /// <summary>A copy of the images to build the next snapshot from.</summary>
    internal Dictionary<string, ImageRoute> CopyImages() => new(_images, StringComparer.Ordinal);

    /// <summary>Fires when this snapshot has been replaced.</summary>
    public IChangeToken ChangeToken { get; }

    /// <summary>Finds an image without allocating a string for the name (the hot path passes a slice of the request path).</summary>
    public bool TryGetImage(ReadOnlySpan<char> image, [NotNullWhen(true)] out ImageRoute? route) => _bySpan.TryGetValue(image, out route);
}
