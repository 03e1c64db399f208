using System.Net;
using System.Net.Sockets;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// Loopback ports that were free a moment ago, each handed out once per test run. A port can still be
/// taken between here and the child's bind; <see cref="ChildProcess.StartAsync"/> retries on new ports then.
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];

    public static int Next()
    {
        while (true)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            lock (Given)
            {
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
