using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Server.Auth;

/// <summary>
/// The platform (admin) token, read from the environment variable <c>PLATFORM_TOKEN</c> or from the
/// file named by <c>PLATFORM_TOKEN_FILE</c> (the file wins when both are set), never from the command
/// line or configuration files. Only its SHA-256 digest is kept; comparisons are constant-time.
/// </summary>
public sealed class PlatformToken
{
    public const string VariableName = "PLATFORM_TOKEN";
    public const string FileVariableName = "PLATFORM_TOKEN_FILE";

    private readonly byte[]? _digest;

    private PlatformToken(byte[]? digest, string source)
    {
        _digest = digest;
        Source = source;
    }

    /// <summary>Where the token came from ("PLATFORM_TOKEN_FILE", "PLATFORM_TOKEN" or "none"): safe to log.</summary>
    public string Source { get; }

    public bool IsConfigured => _digest is not null;

    /// <summary>A token with this value (null or empty: none). One with a comma is refused: a header value with a comma lists several values, which every request would then be refused for.</summary>
    public static PlatformToken FromValue(string? token, string source = "value")
    {
        if (string.IsNullOrEmpty(token))
        {
            return new PlatformToken(null, "none");
        }
        if (token.Contains(',', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The token ({source}) contains ',', which a header reads as a list of several values (refused): choose a token without commas.");
        }
        return new PlatformToken(SHA256.HashData(Encoding.UTF8.GetBytes(token)), source);
    }

    /// <summary>Reads the token as the process environment provides it.</summary>
    public static PlatformToken FromEnvironment(Func<string, string?>? getVariable = null)
    {
        var (token, source) = SecretSource.Read(VariableName, FileVariableName, getVariable);
        return FromValue(token, source);
    }

    /// <summary>True when <paramref name="presented"/> is the token. Time does not depend on where they differ, nor on their lengths.</summary>
    public bool Matches(string? presented)
    {
        if (_digest is null || presented is null)
        {
            return false;
        }
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(presented);
        SHA256.HashData(bytes, digest);
        CryptographicOperations.ZeroMemory(bytes);
        return CryptographicOperations.FixedTimeEquals(digest, _digest);
    }
}
