namespace ControlPlane.Sdk;

/// <summary>
/// What a control-plane address must be (<see cref="ControlPlaneClientOptions.Addresses"/>, a dataplane
/// node's <c>Dataplane:ControlPlanes</c>, an agent's <c>AGENT_SD_BASE</c>): an absolute <c>http://</c> (h2c) or
/// <c>https://</c> (TLS) URI with a host, and nothing gRPC would ignore. A call goes to the
/// authority alone (gRPC <c>PROTOCOL-HTTP2.md</c>: <c>:path</c> is <c>/service/method</c>), so a path,
/// query or fragment would be dropped without a word; user info would be dropped too, yet shown in
/// logs and in metric labels. Credentials come from token variables or files (<c>PLATFORM_TOKEN</c>,
/// <c>DATAPLANE_TOKEN</c> and their <c>_FILE</c> forms), never the URL.
/// </summary>
public static class ControlPlaneAddress
{
    /// <summary>Null when <paramref name="address"/> is usable, else what is wrong with it (never echoing user info).</summary>
    public static string? Problem(string? address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return "is empty; expected an address such as http://cp-1:8001";
        }
        // A value holding '@' may hold a password (also one that does not parse: 'admin:pw@cp:8001').
        var shown = address.Contains('@', StringComparison.Ordinal) ? "the address" : $"'{Shorten(address)}'";
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            return $"{shown} is not an absolute http:// or https:// address with a host, such as http://cp-1:8001";
        }
        if (uri.UserInfo.Length > 0)
        {
            return "must not hold a user name or password (credentials come from the token variables or files, such as DATAPLANE_TOKEN_FILE or PLATFORM_TOKEN_FILE, never the address)";
        }
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return $"{shown} must be a scheme, host and port only: gRPC calls go to the authority, so a path, query or fragment would be ignored";
        }
        return null;
    }

    private static string Shorten(string value)
    {
        var shown = value.Length <= 100 ? value : value[..100] + "...";
        return new string([.. shown.Select(c => char.IsControl(c) ? '?' : c)]);
    }
}
