using System.Reflection;
using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>Who the node says it is on every stream it opens (discovery, load reports), and the token it presents.</summary>
internal static class NodeCredentials
{
    public const string TokenHeader = "x-dataplane-token";

    public static Node CreateNode(DiscoveryOptions options)
    {
        var version = typeof(NodeCredentials).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        return new Node
        {
            Id = options.NodeId,
            Zone = options.Zone ?? "",
            Region = options.Region ?? "",
            UserAgentName = "controlplane-dataplane",
            UserAgentVersion = version.Split('+')[0],
        };
    }

    /// <summary>
    /// The token from the file <see cref="DiscoveryOptions.TokenFileVariable"/> names when it is set
    /// (it wins, as on the control plane and in the SDK that opens the discovery stream), else from
    /// <see cref="DiscoveryOptions.TokenVariable"/>; and where it came from (safe to log).
    /// </summary>
    public static (string Token, string Source)? ReadToken(DiscoveryOptions options, Func<string, string?> getVariable)
    {
        if (getVariable(options.TokenFileVariable) is { Length: > 0 } file)
        {
            return (File.ReadAllText(file).TrimEnd('\r', '\n'), options.TokenFileVariable);
        }
        if (getVariable(options.TokenVariable) is { Length: > 0 } token)
        {
            return (token.Trim(), options.TokenVariable);
        }
        return null;
    }
}
