using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// The version of a set of resources (a state-of-the-world response, or what a delta node holds of
/// one type): the XOR of one 64-bit digest per (name, version) pair, each the first 8 bytes
/// (big-endian) of SHA-256(UTF-8 name, 0x00, UTF-8 version), printed as 16 lower-case hex digits.
/// It depends only on the content, so it is the same on every replica and after restarts; XOR makes
/// it independent of order and lets a holder update it in O(1) per changed resource. The empty set
/// is "0000000000000000".
/// </summary>
public static class ResourceSetVersion
{
    public static string Format(ulong digest) => digest.ToString("x16", CultureInfo.InvariantCulture);

    public static ulong ItemDigest(string name, string version)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(version);
        var length = Encoding.UTF8.GetByteCount(name) + 1 + Encoding.UTF8.GetByteCount(version);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(name, rented);
            rented[written++] = 0;
            written += Encoding.UTF8.GetBytes(version, rented.AsSpan(written));
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(rented.AsSpan(0, written), hash);
            return BinaryPrimitives.ReadUInt64BigEndian(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The version of the set of <paramref name="resources"/>.</summary>
    public static string Of(IEnumerable<VersionedResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ulong digest = 0;
        foreach (var r in resources)
        {
            digest ^= r.Digest;
        }
        return Format(digest);
    }
}
