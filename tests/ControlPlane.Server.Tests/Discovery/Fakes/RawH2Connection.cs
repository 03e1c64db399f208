using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>
/// An HTTP/2 client (h2c, prior knowledge) that controls its own flow-control windows, which
/// SocketsHttpHandler does not let a test do: streams open with the window the connection's
/// SETTINGS give (0 allowed) plus what the test grants each. It sends gRPC requests and counts the
/// DATA bytes each stream receives; it answers PING and SETTINGS, and notes how the connection ended.
/// </summary>
internal sealed class RawH2Connection : IAsyncDisposable
{
    private const byte Data = 0x0, Headers = 0x1, Settings = 0x4, Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8;
    private const byte EndHeaders = 0x4, Ack = 0x1;

    private readonly Socket _socket;
    private readonly string _authority;
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly ConcurrentDictionary<int, long> _received = new();
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextStreamId = 1;
    private Task _reader = Task.CompletedTask;

    private RawH2Connection(Socket socket, string authority)
    {
        _socket = socket;
        _authority = authority;
    }

    /// <summary>Completes with how the connection ended (GOAWAY and its code, EOF, a reset).</summary>
    public Task<string> Ended => _ended.Task;

    /// <summary>Connects with <paramref name="initialStreamWindow"/> as every stream's starting window, and a connection window of 16 MiB.</summary>
    public static async Task<RawH2Connection> ConnectAsync(Uri address, int initialStreamWindow)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new DnsEndPoint(address.Host, address.Port)).DefaultTimeout();
        var connection = new RawH2Connection(socket, address.Authority);
        var settings = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(settings, 0x4); // SETTINGS_INITIAL_WINDOW_SIZE
        BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), (uint)initialStreamWindow);
        await connection.SendAsync([.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, .. Frame(Settings, 0, 0, settings), .. Frame(WindowUpdate, 0, 0, Increment(16 << 20))]);
        connection._reader = Task.Run(connection.ReadLoopAsync);
        return connection;
    }

    /// <summary>Opens a stream to <paramref name="path"/>, sends <paramref name="first"/> on it (not ending it), and grants it <paramref name="window"/> more bytes.</summary>
    public async Task<int> OpenAsync(string path, IMessage first, int window = 0)
    {
        var streamId = Interlocked.Add(ref _nextStreamId, 2) - 2;
        var block = new List<byte>();
        foreach (var (name, value) in new[] { (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", _authority), ("content-type", "application/grpc"), ("te", "trailers") })
        {
            block.Add(0x00); // literal without indexing, new name (RFC 7541 §6.2.2)
            String(block, name);
            String(block, value);
        }
        var message = first.ToByteArray();
        var grpc = new byte[5 + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(grpc.AsSpan(1), (uint)message.Length);
        message.CopyTo(grpc, 5);
        byte[] frames = [.. Frame(Headers, EndHeaders, streamId, [.. block]), .. Frame(Data, 0, streamId, grpc)];
        await SendAsync(window > 0 ? [.. frames, .. Frame(WindowUpdate, 0, streamId, Increment(window))] : frames);
        return streamId;
    }

    /// <summary>DATA bytes received on <paramref name="streamId"/> so far.</summary>
    public long Received(int streamId) => _received.GetValueOrDefault(streamId);

    private async Task ReadLoopAsync()
    {
        var header = new byte[9];
        try
        {
            while (true)
            {
                if (!await ReadExactlyAsync(header))
                {
                    _ended.TrySetResult("EOF");
                    return;
                }
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var (type, flags) = (header[3], header[4]);
                var streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF);
                var payload = new byte[length];
                if (!await ReadExactlyAsync(payload))
                {
                    _ended.TrySetResult("EOF");
                    return;
                }
                switch (type)
                {
                    case Data:
                        _received.AddOrUpdate(streamId, length, (_, n) => n + length);
                        break;
                    case Settings when (flags & Ack) == 0:
                        await SendAsync(Frame(Settings, Ack, 0, []));
                        break;
                    case Ping when (flags & Ack) == 0:
                        await SendAsync(Frame(Ping, Ack, 0, payload));
                        break;
                    case GoAway:
                        _ended.TrySetResult($"GOAWAY {BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4))}");
                        return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _ended.TrySetResult(ex.Message);
        }
    }

    private async Task<bool> ReadExactlyAsync(byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await _socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None);
            if (count == 0)
            {
                return false;
            }
            read += count;
        }
        return true;
    }

    private async Task SendAsync(byte[] bytes)
    {
        await _sending.WaitAsync().DefaultTimeout();
        try
        {
            await _socket.SendAsync(bytes, SocketFlags.None).DefaultTimeout();
        }
        finally
        {
            _sending.Release();
        }
    }

    private static byte[] Frame(byte type, byte flags, int streamId, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
        payload.CopyTo(frame, 9);
        return frame;
    }

    private static byte[] Increment(int bytes)
    {
        var increment = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, (uint)bytes);
        return increment;
    }

    /// <summary>An HPACK string literal, not Huffman-coded; the tests' names and values stay under 127 bytes.</summary>
    private static void String(List<byte> block, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        if (bytes.Length >= 127)
        {
            throw new ArgumentException("Strings of 127 bytes or more need a longer length prefix.", nameof(value));
        }
        block.Add((byte)bytes.Length);
        block.AddRange(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _sending.Dispose();
    }
}
