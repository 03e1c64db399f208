using System.Net;
using System.Net.Sockets;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// Loopback ports that were free a moment ago, each handed out once per test run. They come from
/// below Linux's ephemeral range (32768-60999), taken in turn from a random start per process: the
/// kernel never gives these to bind(0) or to an outgoing connection, so a port freed by a killed
/// server is not soon taken by another test process running beside this one, and a connection to
/// it cannot meet itself (a loopback connect whose source port happens to be its destination
/// connects to itself). A port can still be taken between here and the child's bind;
/// <see cref="ChildProcess.StartAsync"/> retries on new ports then.
/// </summary>
public static class FreePorts
{
    private const int First = 20_000;
    private const int Count = 12_000;

    private static readonly HashSet<int> Given = [];
    private static int s_next = Random.Shared.Next(Count);

    public static int Next()
    {
        for (var tried = 0; tried < Count; tried++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref s_next) % Count);
            lock (Given)
            {
                if (!Given.Add(port))
                {
                    continue;
                }
            }
            if (CanBind(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException($"No free loopback port in {First}-{First + Count - 1}.");
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
