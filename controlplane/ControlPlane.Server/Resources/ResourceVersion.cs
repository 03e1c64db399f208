using System.Security.Cryptography;
using Google.Protobuf;

namespace ControlPlane.Server.Resources;

/// <summary>
/// A resource's version is a digest of its serialized content: the same content gets the same
/// version on every replica and after every restart, and different content never shares one
/// (the xDS rule that a node must be able to trust a version it holds).
/// </summary>
public static class ResourceVersion
{
    /// <summary>The version of <paramref name="serialized"/> content: 16 lower-case hex digits (the first 64 bits of its SHA-256).</summary>
    public static string Of(ReadOnlySpan<byte> serialized)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(serialized, digest);
        return Convert.ToHexStringLower(digest[..8]);
    }

    public static string Of(IMessage resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return Of(resource.ToByteArray());
    }
}
