using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>The gRPC form of a peer address ("ipv4:127.0.0.1:50432"), the same for REST and gRPC calls.</summary>
internal static class PeerAddress
{
    public static string Of(ConnectionInfo connection)
    {
        var ip = connection.RemoteIpAddress;
        if (ip is null)
        {
            return "unknown";
        }
        return ip.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ipv6:[{ip}]:{connection.RemotePort}"
            : $"ipv4:{ip}:{connection.RemotePort}";
    }
}
