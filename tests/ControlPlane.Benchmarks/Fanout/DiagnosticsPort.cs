using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace ControlPlane.Benchmarks.Fanout;

/// <summary>
/// Just enough of the .NET diagnostics IPC protocol (dotnet/diagnostics, documentation/design-docs/ipc-protocol.md)
/// to make another .NET process run a full, blocking garbage collection, as dotnet-gcdump does: an
/// EventPipe session on the runtime's provider with the GCHeapCollect keyword makes the runtime
/// collect at once. The session is stopped right after; its trace data is read and dropped.
/// </summary>
internal static class DiagnosticsPort
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";
    private const ulong GcHeapCollectKeyword = 0x800000;
    private const uint InformationalLevel = 4;
    private const byte EventPipeCommandSet = 0x02;
    private const byte StopTracing = 0x01;
    private const byte CollectTracing = 0x02;
    private const byte ServerCommandSet = 0xFF;
    private const byte ServerOk = 0x00;
    private const int HeaderBytes = 20;
    private static readonly byte[] Magic = Encoding.ASCII.GetBytes("DOTNET_IPC_V1\0");

    /// <summary>
    /// Asks process <paramref name="pid"/>'s runtime for a full collection, runs <paramref name="whileOpen"/>
    /// (which waits until the collection is seen), and stops the session.
    /// </summary>
    public static async Task RequestFullCollectionAsync(int pid, Func<Task> whileOpen, CancellationToken cancellationToken)
    {
        var path = SocketPath(pid);
        using var session = await ConnectAsync(path, cancellationToken);
        // CollectTracing: circular buffer MB, format (1 = nettrace), one provider (keywords, level, name, filter).
        var payload = new List<byte>();
        AddUInt32(payload, 1);
        AddUInt32(payload, 1);
        AddUInt32(payload, 1);
        AddUInt64(payload, GcHeapCollectKeyword);
        AddUInt32(payload, InformationalLevel);
        AddString(payload, RuntimeProvider);
        AddString(payload, null);
        await SendAsync(session, EventPipeCommandSet, CollectTracing, payload, cancellationToken);
        var sessionId = BinaryPrimitives.ReadUInt64LittleEndian(await ReceiveOkAsync(session, 8, cancellationToken));
        // The trace streams on this connection until the session stops: read it away.
        var drain = DrainAsync(session);
        await whileOpen();

        using var stop = await ConnectAsync(path, cancellationToken);
        var stopPayload = new List<byte>();
        AddUInt64(stopPayload, sessionId);
        await SendAsync(stop, EventPipeCommandSet, StopTracing, stopPayload, cancellationToken);
        await ReceiveOkAsync(stop, 8, cancellationToken);
        await drain.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }

    /// <summary>The runtime's socket: $TMPDIR/dotnet-diagnostic-{pid}-{disambiguation key}-socket.</summary>
    private static string SocketPath(int pid)
    {
        var sockets = Directory.GetFiles(Path.GetTempPath(), $"dotnet-diagnostic-{pid}-*-socket");
        return sockets.Length switch
        {
            1 => sockets[0],
            0 => throw new InvalidOperationException($"Process {pid} has no diagnostics socket in {Path.GetTempPath()} (DOTNET_EnableDiagnostics=0?)."),
            _ => sockets.OrderByDescending(File.GetLastWriteTimeUtc).First(),
        };
    }

    private static async Task<Socket> ConnectAsync(string path, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task SendAsync(Socket socket, byte commandSet, byte commandId, List<byte> payload, CancellationToken cancellationToken)
    {
        var message = new byte[HeaderBytes + payload.Count];
        Magic.CopyTo(message, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(14), (ushort)message.Length);
        message[16] = commandSet;
        message[17] = commandId;
        payload.CopyTo(message, HeaderBytes);
        await socket.SendAsync(message, SocketFlags.None, cancellationToken);
    }

    /// <summary>Reads a response header, throws unless it is OK, and returns its first <paramref name="payloadBytes"/> payload bytes.</summary>
    private static async Task<byte[]> ReceiveOkAsync(Socket socket, int payloadBytes, CancellationToken cancellationToken)
    {
        var header = await ReceiveExactlyAsync(socket, HeaderBytes, cancellationToken);
        var size = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
        var payload = await ReceiveExactlyAsync(socket, Math.Max(0, size - HeaderBytes), cancellationToken);
        if (header[16] != ServerCommandSet || header[17] != ServerOk || payload.Length < payloadBytes)
        {
            var error = payload.Length >= 4 ? $" 0x{BinaryPrimitives.ReadUInt32LittleEndian(payload):X8}" : "";
            throw new InvalidOperationException($"The diagnostics port refused the command (command set 0x{header[16]:X2}, id 0x{header[17]:X2}){error}.");
        }
        return payload;
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cancellationToken);
            if (n == 0)
            {
                throw new IOException("The diagnostics port closed the connection.");
            }
            read += n;
        }
        return buffer;
    }

    private static async Task DrainAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The session ended.
        }
    }

    private static void AddUInt32(List<byte> bytes, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        bytes.AddRange(b.ToArray());
    }

    private static void AddUInt64(List<byte> bytes, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        bytes.AddRange(b.ToArray());
    }

    /// <summary>A protocol string: its length in UTF-16 code units with the terminating NUL, then those units; null is length 0.</summary>
    private static void AddString(List<byte> bytes, string? value)
    {
        if (value is null)
        {
            AddUInt32(bytes, 0);
            return;
        }
        AddUInt32(bytes, (uint)value.Length + 1);
        bytes.AddRange(Encoding.Unicode.GetBytes(value + "\0"));
    }
}
