using ControlPlane.Api.Auth;
using ControlPlane.Server.Auth;

namespace ControlPlane.Server.Discovery.Auth;

/// <summary>
/// The credential dataplane nodes present on discovery streams, read from the environment variable
/// <c>DATAPLANE_TOKEN</c> or from the file named by <c>DATAPLANE_TOKEN_FILE</c> (the file wins), never
/// from the command line or configuration files. It must differ from the platform (admin) token, so
/// a leaked node credential never grants admin rights. Only a digest is kept; comparisons are
/// constant-time (the same mechanism as <see cref="PlatformToken"/>). Alongside it, or instead of
/// it, per-node tokens (<see cref="DataplaneNodeTokens"/>, keys from <c>DATAPLANE_NODE_KEY</c> or
/// <c>DATAPLANE_NODE_KEY_FILE</c>): a call presenting one is bound to the node it names. Without
/// either, dataplane methods are open.
/// </summary>
public sealed class DataplaneToken
{
    public const string VariableName = "DATAPLANE_TOKEN";
    public const string FileVariableName = "DATAPLANE_TOKEN_FILE";

    private readonly PlatformToken _digest;
    private readonly DataplaneNodeTokens? _nodeTokens;

    private DataplaneToken(PlatformToken digest, DataplaneNodeTokens? nodeTokens)
    {
        _digest = digest;
        _nodeTokens = nodeTokens;
    }

    /// <summary>Where the token came from ("DATAPLANE_TOKEN_FILE", "DATAPLANE_TOKEN" or "none"): safe to log.</summary>
    public string Source => _digest.Source;

    /// <summary>Whether dataplane methods ask for a credential: the shared token, node keys, or both.</summary>
    public bool IsConfigured => _digest.IsConfigured || _nodeTokens is not null;

    /// <summary>Whether per-node tokens are accepted (node keys are configured).</summary>
    public bool AcceptsNodeTokens => _nodeTokens is not null;

    /// <summary>
    /// A token with this value (null or empty: none) and node keys (null: none), refused when the token
    /// equals the platform token, or a node key equals either token.
    /// </summary>
    public static DataplaneToken FromValue(string? token, PlatformToken? platform = null, string source = "value", DataplaneNodeTokens? nodeTokens = null)
    {
        if (!string.IsNullOrEmpty(token) && platform is not null && platform.Matches(token))
        {
            throw new InvalidOperationException(
                $"The dataplane token ({source}) equals the platform token: give nodes their own credential, so that a node's token never grants admin rights.");
        }
        var shared = PlatformToken.FromValue(token, source);
        if (nodeTokens is not null)
        {
            foreach (var (other, name) in new[] { (platform, "platform"), (shared, "dataplane") })
            {
                if (other is not null && nodeTokens.AnyKey(other.Matches))
                {
                    throw new InvalidOperationException(
                        $"A node key ({nodeTokens.Source}) equals the {name} token: node keys must be secrets of their own.");
                }
            }
        }
        return new DataplaneToken(shared, nodeTokens);
    }

    /// <summary>Reads the token and the node keys as the process environment provides them.</summary>
    public static DataplaneToken FromEnvironment(PlatformToken? platform = null, Func<string, string?>? getVariable = null)
    {
        var (token, source) = SecretSource.Read(VariableName, FileVariableName, getVariable);
        var (keys, keySource) = SecretSource.Read(DataplaneNodeTokens.KeyVariable, DataplaneNodeTokens.KeyFileVariable, getVariable);
        var nodeTokens = string.IsNullOrEmpty(keys) ? null : DataplaneNodeTokens.FromKeys(keys, keySource);
        return FromValue(token, platform, source, nodeTokens);
    }

    /// <summary>True when <paramref name="presented"/> is the shared token; constant-time.</summary>
    public bool Matches(string? presented) => _digest.Matches(presented);

    /// <summary>
    /// Whether <paramref name="presented"/> may call dataplane methods: the shared token (any node;
    /// <paramref name="nodeId"/> null), or a node token one of the keys made (only as
    /// <paramref name="nodeId"/>).
    /// </summary>
    public bool Admits(string? presented, out string? nodeId)
    {
        nodeId = null;
        if (_digest.Matches(presented))
        {
            return true;
        }
        if (_nodeTokens is not null && _nodeTokens.TryVerify(presented, out var bound))
        {
            nodeId = bound;
            return true;
        }
        return false;
    }
}
