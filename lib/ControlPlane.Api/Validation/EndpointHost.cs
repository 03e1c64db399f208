using System.Globalization;

namespace ControlPlane.Api.Validation;

/// <summary>
/// What an instance's host is, for the control plane (at registration) and the dataplane node (on
/// every endpoint it is sent): a DNS name, an IPv4 address, or an IPv6 address with or without one
/// pair of brackets, at most 253 characters.
/// </summary>
public static class EndpointHost
{
    /// <summary>Most characters of a host (a DNS name's limit).</summary>
    public const int MaxLength = 253;

    /// <summary>True when <paramref name="host"/> is a host name or IP address an instance may register with.</summary>
    public static bool IsValid(string? host) =>
        !string.IsNullOrEmpty(host) && host.Length <= MaxLength && Uri.CheckHostName(host) != UriHostNameType.Unknown && !IsBrokenNumeric(host);

    /// <summary>Four decimal parts of 0 to 255 (<c>1.2.3</c> and <c>10.0.0.256</c> are not addresses, though resolvers read the first as one).</summary>
    public static bool IsDottedQuad(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var parts = host.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit) && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }

    /// <summary>Only digits and dots, yet not an IPv4 address: no host name has an all-numeric top-level label (RFC 3696 §2).</summary>
    public static bool IsBrokenNumeric(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return host.Length > 0 && host.All(c => char.IsAsciiDigit(c) || c == '.') && !IsDottedQuad(host.TrimEnd('.'));
    }
}
