using System.Globalization;
using System.Net;
using ControlPlane.Api.Validation;

namespace ControlPlane.Server.Storage;

/// <summary>
/// Which host an instance's address names, for the one-live-instance-per-address guard: every
/// spelling of one address is the same host (<c>::1</c>, <c>[::1]</c> and <c>0:0:0:0:0:0:0:1</c>;
/// <c>B\u00fccher.de</c>, <c>xn--bcher-kva.de</c> and <c>bucher.de.</c> with its root dot), compared
/// without regard to case. The host an instance registered with is kept as it was sent.
/// </summary>
internal static class HostIdentity
{
    private static readonly IdnMapping Idn = new();

    /// <summary>The host in one spelling, upper-case (as the Redis store's endpoint index has always held it).</summary>
    public static string Canonical(string host)
    {
        var bare = host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        if (bare.Contains(':', StringComparison.Ordinal) && IPAddress.TryParse(bare, out var v6))
        {
            return v6.ToString().ToUpperInvariant();
        }
        if (EndpointHost.IsDottedQuad(bare) && IPAddress.TryParse(bare, out var v4))
        {
            return v4.ToString();
        }
        var name = bare.EndsWith('.') ? bare[..^1] : bare;
        try
        {
            name = Idn.GetAscii(name);
        }
        catch (ArgumentException)
        {
            // Not a name IDNA can map: compared as written.
        }
        return name.ToUpperInvariant();
    }
}
