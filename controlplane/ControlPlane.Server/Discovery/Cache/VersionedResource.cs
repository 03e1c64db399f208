using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// One resource at one version, ready to send. Its content is encoded once, into the
/// <see cref="Wire"/> wrapper's Any, and that wrapper is shared by every stream that sends this
/// version: a response copies the encoded bytes, it never encodes the resource again. Treat
/// <see cref="Wire"/> as read-only.
/// </summary>
public sealed class VersionedResource
{
    private VersionedResource(string typeUrl, string name, Resource wire)
    {
        TypeUrl = typeUrl;
        Name = name;
        Wire = wire;
        Digest = ResourceSetVersion.ItemDigest(name, wire.Version);
        Size = wire.CalculateSize();
    }

    public string TypeUrl { get; }

    public string Name { get; }

    /// <summary>The content digest (<see cref="ResourceVersion"/>): equal content, equal version, on every replica.</summary>
    public string Version => Wire.Version;

    /// <summary>The wrapper sent to nodes: name, version and the content as an Any.</summary>
    public Resource Wire { get; }

    /// <summary>Encoded size of <see cref="Wire"/>, in bytes.</summary>
    public int Size { get; }

    /// <summary>This (name, version) pair's share of a set version (<see cref="ResourceSetVersion"/>).</summary>
    internal ulong Digest { get; }

    /// <summary>
    /// A version a node says it holds (delta initial_resource_versions): its name and version only, no
    /// content; it never goes out in a response.
    /// </summary>
    internal static VersionedResource Claimed(string typeUrl, string name, string version) =>
        new(typeUrl, name, new Resource { Name = name, Version = version });

    /// <summary>Encodes <paramref name="content"/> once and wraps it.</summary>
    public static VersionedResource Create(string typeUrl, string name, IMessage content)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(content);
        return Create(typeUrl, name, content.ToByteString());
    }

    /// <summary>Wraps <paramref name="content"/>, a resource already encoded (and not changed afterwards).</summary>
    public static VersionedResource Create(string typeUrl, string name, ByteString content)
    {
        ArgumentException.ThrowIfNullOrEmpty(typeUrl);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(content);
        var bytes = content;
        var wire = new Resource
        {
            Name = name,
            Version = ResourceVersion.Of(bytes.Span),
            Resource_ = new Any { TypeUrl = typeUrl, Value = bytes },
        };
        return new VersionedResource(typeUrl, name, wire);
    }
}
