using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ControlPlane.Api.V1;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>
/// The documented version of a set of resources, computed here independently of the server: the XOR
/// of the first 8 bytes (big-endian) of SHA-256(name, 0x00, version) over the set, as 16 hex digits.
/// </summary>
internal static class SetVersion
{
    public static string Of(IEnumerable<Resource> resources) => Of(resources.Select(r => (r.Name, r.Version)));

    public static string Of(IEnumerable<(string Name, string Version)> items)
    {
        ulong digest = 0;
        foreach (var (name, version) in items)
        {
            var hash = SHA256.HashData(Encoding.UTF8.GetBytes(name + "\0" + version));
            digest ^= BinaryPrimitives.ReadUInt64BigEndian(hash);
        }
        return digest.ToString("x16", CultureInfo.InvariantCulture);
    }
}
