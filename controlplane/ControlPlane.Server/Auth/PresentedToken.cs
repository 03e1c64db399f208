using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;

namespace ControlPlane.Server.Auth;

/// <summary>How a request presented a token header: not at all, once, or ambiguously.</summary>
internal enum TokenPresence
{
    Missing,
    One,

    /// <summary>The header came more than once, or one value lists several (comma-separated, RFC 9110 §5.3).</summary>
    Several,
}

/// <summary>
/// Reads a token header from a call's metadata (gRPC metadata, or the REST request's headers once
/// transcoded). A request naming its credential twice is refused whatever the values: which one a
/// server reads differs between servers and proxies (first, last, joined), so two values let a
/// proxy check one and this server another. Values are never returned or logged when ambiguous.
/// The raw request headers count too: metadata leaves out values that are not printable ASCII, so a
/// second value such as <c>caf\u00e9</c> would otherwise go unseen.
/// </summary>
internal static class PresentedToken
{
    public static TokenPresence Read(ServerCallContext context, string name, out string? value)
    {
        var raw = context.HttpContext?.Request.Headers[name] ?? default;
        if (raw.Count > 1 || (raw.Count == 1 && raw[0]?.Contains(',', StringComparison.Ordinal) == true))
        {
            value = null;
            return TokenPresence.Several;
        }
        return Read(context.RequestHeaders, name, out value);
    }

    public static TokenPresence Read(Metadata headers, string name, out string? value)
    {
        value = null;
        var count = 0;
        foreach (var entry in headers)
        {
            if (string.Equals(entry.Key, name, StringComparison.OrdinalIgnoreCase))
            {
                count++;
                value = entry.Value;
            }
        }
        if (count > 1 || (value is not null && value.Contains(',', StringComparison.Ordinal)))
        {
            value = null;
            return TokenPresence.Several;
        }
        return string.IsNullOrEmpty(value) ? TokenPresence.Missing : TokenPresence.One;
    }
}
