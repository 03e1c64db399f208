using System.Net;
using System.Net.Sockets;

namespace ControlPlane.TestCommon.Processes;

/// <summary>
/// Loopback ports that were free a moment ago, each handed out once by a test process, and never
/// to two running test processes at once. They come from below Linux's ephemeral range (32768-60999), so the kernel
/// never gives them to bind(0) or to an outgoing connection: a port freed by a killed server is not
/// soon taken by someone else, and a connection to it cannot meet itself (a loopback connect whose
/// source port happens to be its destination connects to itself).
/// <para>
/// The test assemblies run side by side in their own processes, so the range is cut into blocks and
/// a process takes a block by holding an exclusive lock on the block's file (released by the kernel
/// when the process ends, however it ends; the files are the user's, so test runs of two users on
/// one machine do not see each other's). Without it, two processes handing out the same port
/// could meet: a test kills its control plane, and another process's control plane starts on the
/// freed port and answers the clients that were meant to find nothing there. A port can still be
/// taken by something else between here and the child's bind; <see cref="ChildProcess.StartAsync"/>
/// retries on new ports then.
/// </para>
/// </summary>
public static class FreePorts
{
    private const int First = 20_000;
    private const int BlockSize = 400;
    private const int Blocks = 30;

    private static readonly Lock Gate = new();
    private static readonly Dictionary<int, FileStream> HeldBlocks = [];
    // One per user: a directory another user created could not be written here.
    private static readonly string Directory = Path.Combine(Path.GetTempPath(), "controlplane-test-ports-" + Environment.UserName);
    private static int s_block = -1;
    private static int s_nextInBlock = BlockSize;

    public static int Next()
    {
        lock (Gate)
        {
            while (true)
            {
                if (s_nextInBlock == BlockSize)
                {
                    s_block = TakeBlock();
                    s_nextInBlock = 0;
                }
                var port = First + (s_block * BlockSize) + s_nextInBlock++;
                if (CanBind(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>A block no other running test process holds, locked for the rest of this process's life.</summary>
    private static int TakeBlock()
    {
        System.IO.Directory.CreateDirectory(Directory);
        var start = Random.Shared.Next(Blocks);
        for (var tried = 0; tried < Blocks; tried++)
        {
            var block = (start + tried) % Blocks;
            if (HeldBlocks.ContainsKey(block))
            {
                continue;
            }
            try
            {
                // FileShare.None is an exclusive flock on Unix: a second process opening it fails.
                HeldBlocks.Add(block, new FileStream(Path.Combine(Directory, $"block-{block}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
                return block;
            }
            catch (IOException)
            {
                // Held by another test process.
            }
        }
        throw new InvalidOperationException($"No free block of loopback ports in {First}-{First + (Blocks * BlockSize) - 1}: other test processes hold them all.");
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
