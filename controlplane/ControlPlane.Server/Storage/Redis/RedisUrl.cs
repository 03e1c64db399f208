using System.Globalization;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Where the Redis store lives, from a URL: <c>redis://host:port/db</c>, or <c>rediss://</c> for TLS.
/// Port 6379 and database 0 by default. A user may be named only as <c>default</c> (the client
/// authenticates with a password alone, i.e. Redis's default user). A password in the URL is
/// refused: URLs end up on command lines, in process listings and in logs; the password comes from
/// REDIS_PASSWORD or REDIS_PASSWORD_FILE instead.
/// </summary>
internal sealed record RedisUrl(string Host, int Port, int Database, bool Tls)
{
    public const int DefaultPort = 6379;

    /// <summary>The URL without user information, safe to log.</summary>
    public override string ToString() =>
        $"{(Tls ? "rediss" : "redis")}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database.ToString(CultureInfo.InvariantCulture)}";

    /// <exception cref="FormatException">With what is wrong, never echoing a password.</exception>
    public static RedisUrl Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss"))
        {
            throw new FormatException("The Redis URL must look like redis://host:port/db or rediss://host:port/db (TLS).");
        }
        var safe = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
        CheckUser(uri.UserInfo);
        if (uri.Host.Length == 0)
        {
            throw new FormatException($"The Redis URL {safe} names no host.");
        }
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new FormatException($"The Redis URL {safe} has a query or fragment; only redis[s]://host:port/db is understood.");
        }
        var path = uri.AbsolutePath.Trim('/');
        var database = 0;
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 65535))
        {
            throw new FormatException($"The Redis URL {safe} names database '{path}'; expected a number such as /0.");
        }
        return new RedisUrl(uri.IdnHost, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port, database, uri.Scheme == "rediss");
    }

    private static void CheckUser(string userInfo)
    {
        if (userInfo.Length == 0)
        {
            return;
        }
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var user = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
        if (colon >= 0 && colon < userInfo.Length - 1)
        {
            // Not echoed: the URL holds a secret.
            throw new FormatException(
                $"The Redis URL carries a password; remove it and set {RedisStoreOptions.PasswordVariable} or {RedisStoreOptions.PasswordFileVariable} instead.");
        }
        if (user.Length > 0 && user != "default")
        {
            throw new FormatException(
                $"The Redis URL names user '{user}': this client authenticates with a password only (Redis's default user); use redis://host:port/db with requirepass or the default user's password.");
        }
    }
}
