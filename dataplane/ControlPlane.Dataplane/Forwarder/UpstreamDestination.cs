using System.Net;
using System.Net.Sockets;
using ControlPlane.Api.V1;
using Endpoint = ControlPlane.Api.V1.Endpoint;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Where requests for one endpoint go, computed once per snapshot: the origin
/// (<c>http://host:port</c>) and the HTTP version spoken to it.
/// </summary>
/// <remarks>
/// The version comes from the instance's registration metadata: <c>"protocol": "h2c"</c> means
/// cleartext HTTP/2 with prior knowledge (gRPC servers on Kestrel, grpcio); anything else, or no
/// <c>protocol</c>, means HTTP/1.1. gRPC requests always go upstream as h2c, whatever the metadata
/// says, because gRPC cannot be carried over HTTP/1.1. TLS upstreams are not supported yet.
/// </remarks>
internal sealed class UpstreamDestination
{
    /// <summary>The metadata key naming the upstream protocol.</summary>
    public const string ProtocolKey = "protocol";

    /// <summary>The metadata value for cleartext HTTP/2 (prior knowledge).</summary>
    public const string H2c = "h2c";

    private UpstreamDestination(string origin, Version version, string host, int port, string authority)
    {
        Origin = origin;
        Version = version;
        Host = host;
        Port = port;
        Authority = authority;
    }

    /// <summary><c>http://host:port</c>, IPv6 literals in brackets, no trailing slash.</summary>
    public string Origin { get; }

    /// <summary>HTTP/1.1 or HTTP/2 (exact: never upgraded or downgraded).</summary>
    public Version Version { get; }

    /// <summary>The host as registered (IPv6 literals without brackets): what to connect to.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>The <c>Host</c> field sent upstream: <c>host:port</c>, the port left out when it is 80 (as HttpClient writes it).</summary>
    public string Authority { get; }

    public static UpstreamDestination For(Endpoint endpoint)
    {
        var host = endpoint.Host;
        var raw = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(host, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 && !host.StartsWith('['))
        {
            host = "[" + host + "]";
        }
        var protocol = endpoint.Metadata?.Fields.TryGetValue(ProtocolKey, out var value) == true ? value.StringValue : null;
        var version = string.Equals(protocol, H2c, StringComparison.OrdinalIgnoreCase) ? HttpVersion.Version20 : HttpVersion.Version11;
        var port = (int)endpoint.Port;
        return new UpstreamDestination($"http://{host}:{port}", version, raw, port, port == 80 ? host : $"{host}:{port}");
    }

    public override string ToString() => Origin;
}
