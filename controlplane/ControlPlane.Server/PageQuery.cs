using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Server;

/// <summary>
/// What a page token is bound to: a listing (its gRPC method) and its filters in canonical form
/// (values as the listing interprets them), each part length-prefixed so that no two queries share
/// an encoding.
/// </summary>
internal sealed class PageQuery
{
    public PageQuery(string listing, params ReadOnlySpan<(string Name, string Value)> filters)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, listing);
        foreach (var (name, value) in filters)
        {
            Append(hash, name);
            Append(hash, value);
        }
        Digest = hash.GetHashAndReset()[..DigestLength];
    }

    public const int DigestLength = 8;

    public byte[] Digest { get; }

    private static void Append(IncrementalHash hash, string part)
    {
        var bytes = Encoding.UTF8.GetBytes(part);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, bytes.Length);
        hash.AppendData(length);
        hash.AppendData(bytes);
    }
}
