using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ControlPlane.Benchmarks.Http2;
using Google.Protobuf;

namespace ControlPlane.Server.Tests.Discovery.Fakes;

/// <summary>
/// An HTTP/2 client (h2c, prior knowledge; frames and headers encoded by the benchmarks' <see cref="Http2Wire"/>) that controls its own flow-control windows, which
/// SocketsHttpHandler does not let a test do: streams open with the window the connection's
/// SETTINGS give (0 allowed) plus what the test grants each. It sends gRPC requests and counts the
/// DATA bytes each stream receives; it answers PING and SETTINGS, and notes how the connection ended.
/// </summary>
internal sealed class RawH2Connection : IAsyncDisposable
{
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
        BinaryPrimitives.WriteUInt16BigEndian(settings, Http2Wire.SettingInitialWindowSize);
        BinaryPrimitives.WriteUInt32BigEndian(settings.AsSpan(2), (uint)initialStreamWindow);
        await connection.SendAsync([.. Http2Wire.Preface, .. Frame(Http2Wire.Settings, 0, 0, settings), .. Frame(Http2Wire.WindowUpdate, 0, 0, Increment(16 << 20))]);
        connection._reader = Task.Run(connection.ReadLoopAsync);
        return connection;
    }

    /// <summary>Opens a stream to <paramref name="path"/>, sends <paramref name="first"/> on it (not ending it), and grants it <paramref name="window"/> more bytes.</summary>
    public async Task<int> OpenAsync(string path, IMessage first, int window = 0)
    {
        var streamId = Interlocked.Add(ref _nextStreamId, 2) - 2;
        var message = first.ToByteArray();
        var grpc = new byte[Http2Wire.MessagePrefixSize + message.Length]; // uncompressed, then the length
        BinaryPrimitives.WriteUInt32BigEndian(grpc.AsSpan(1), (uint)message.Length);
        message.CopyTo(grpc, Http2Wire.MessagePrefixSize);
        byte[] frames = [.. Frame(Http2Wire.Headers, Http2Wire.EndHeaders, streamId, Http2Wire.GrpcRequestHeaders(path, _authority)), .. Frame(Http2Wire.Data, 0, streamId, grpc)];
        await SendAsync(window > 0 ? [.. frames, .. Frame(Http2Wire.WindowUpdate, 0, streamId, Increment(window))] : frames);
        return streamId;
    }

    /// <summary>DATA bytes received on <paramref name="streamId"/> so far.</summary>
    public long Received(int streamId) => _received.GetValueOrDefault(streamId);

    private async Task ReadLoopAsync()
    {
        var header = new byte[Http2Wire.FrameHeaderSize];
        try
        {
            while (true)
            {
                if (!await ReadExactlyAsync(header))
                {
                    _ended.TrySetResult("EOF");
                    return;
                }
                var (length, type, flags, streamId) = Http2Wire.ReadFrameHeader(header);
                var payload = new byte[length];
                if (!await ReadExactlyAsync(payload))
                {
                    _ended.TrySetResult("EOF");
                    return;
                }
                switch (type)
                {
                    case Http2Wire.Data:
                        _received.AddOrUpdate(streamId, length, (_, n) => n + length);
                        break;
                    case Http2Wire.Settings when (flags & Http2Wire.Ack) == 0:
                        await SendAsync(Frame(Http2Wire.Settings, Http2Wire.Ack, 0, []));
                        break;
                    case Http2Wire.Ping when (flags & Http2Wire.Ack) == 0:
                        await SendAsync(Frame(Http2Wire.Ping, Http2Wire.Ack, 0, payload));
                        break;
                    case Http2Wire.GoAway:
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
        var frame = new byte[Http2Wire.FrameHeaderSize + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
        payload.CopyTo(frame, Http2Wire.FrameHeaderSize);
        return frame;
    }

    private static byte[] Increment(int bytes)
    {
        var increment = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(increment, (uint)bytes);
        return increment;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _sending.Dispose();
    }
}
