using ControlPlane.Server.Auth;

namespace ControlPlane.Server.Discovery.Auth;

/// <summary>
/// The credential dataplane nodes present on discovery streams, read from the environment variable
/// <c>DATAPLANE_TOKEN</c> or from the file named by <c>DATAPLANE_TOKEN_FILE</c> (the file wins), never
/// from the command line or configuration files. It must differ from the platform (admin) token, so
/// a leaked node credential never grants admin rights. Only a digest is kept; comparisons are
/// constant-time (the same mechanism as <see cref="PlatformToken"/>). Without one, dataplane methods
/// are open.
/// </summary>
public sealed class DataplaneToken
{
    public const string VariableName = "DATAPLANE_TOKEN";
    public const string FileVariableName = "DATAPLANE_TOKEN_FILE";

    private readonly PlatformToken _digest;

    private DataplaneToken(PlatformToken digest)
    {
        _digest = digest;
    }

    /// <summary>Where the token came from ("DATAPLANE_TOKEN_FILE", "DATAPLANE_TOKEN" or "none"): safe to log.</summary>
    public string Source => _digest.Source;

    public bool IsConfigured => _digest.IsConfigured;

    /// <summary>A token with this value (null or empty: none), refused when it equals the platform token.</summary>
    public static DataplaneToken FromValue(string? token, PlatformToken? platform = null, string source = "value")
    {
        if (!string.IsNullOrEmpty(token) && platform is not null && platform.Matches(token))
        {
            throw new InvalidOperationException(
                $"The dataplane token ({source}) equals the platform token: give nodes their own credential, so that a node's token never grants admin rights.");
        }
        return new DataplaneToken(PlatformToken.FromValue(token, source));
    }

    /// <summary>Reads the token as the process environment provides it.</summary>
    public static DataplaneToken FromEnvironment(PlatformToken? platform = null, Func<string, string?>? getVariable = null)
    {
        var (token, source) = SecretSource.Read(VariableName, FileVariableName, getVariable);
        return FromValue(token, platform, source);
    }

    /// <summary>True when <paramref name="presented"/> is the token; constant-time.</summary>
    public bool Matches(string? presented) => _digest.Matches(presented);
}
